package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fakeCLI puts an executable named name on PATH that prints out and exits
// with code.
func fakeCLI(t *testing.T, name, script string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
}

func TestClientWithoutEngineIsNotAnEngine(t *testing.T) {
	fakeCLI(t, "docker", `echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1`)
	_, err := Detect(context.Background())
	if !errors.Is(err, ErrNoEngine) || !strings.Contains(err.Error(), "Cannot connect to the Docker daemon") {
		t.Fatalf("Detect = %v; want ErrNoEngine naming docker's answer", err)
	}
}

func TestEngineThatAnswersIsFound(t *testing.T) {
	fakeCLI(t, "podman", `echo 5.4.0`)
	e, err := Detect(context.Background())
	if err != nil || e.Binary != "podman" || e.Version != "5.4.0" {
		t.Fatalf("Detect = %+v, %v", e, err)
	}
}

func TestNothingInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := Detect(context.Background()); !errors.Is(err, ErrNoEngine) || !strings.Contains(err.Error(), "none of") {
		t.Fatalf("Detect = %v", err)
	}
}

func TestHungEngineIsBounded(t *testing.T) {
	fakeCLI(t, "docker", `exec sleep 60`)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := Detect(ctx); !errors.Is(err, ErrNoEngine) {
		t.Fatalf("Detect = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Detect took %s with a hung engine", d)
	}
}
