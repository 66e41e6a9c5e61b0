package engine

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
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

func TestMissingImagesAndRegistry(t *testing.T) {
	fakeCLI(t, "docker", `case "$1 $2 $3" in
  "version"*) echo 27.5.1 ;;
  "image inspect present:1") echo '[{}]' ;;
  *) echo "No such image: $3" >&2; exit 1 ;;
esac`)
	e, err := Detect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Missing(context.Background(), "present:1", "absent:2"); len(got) != 1 || got[0] != "absent:2" {
		t.Fatalf("Missing = %v; want [absent:2]", got)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	defer srv.Close()
	old := RegistryURL
	t.Cleanup(func() { RegistryURL = old })
	RegistryURL = srv.URL + "/v2/"
	if !RegistryAnswers(context.Background()) {
		t.Error("a registry answering 401 does not count as answering")
	}
	srv.Close()
	if RegistryAnswers(context.Background()) {
		t.Error("a closed registry counts as answering")
	}
}
