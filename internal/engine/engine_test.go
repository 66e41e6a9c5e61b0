package engine_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/engine/enginetest"
)

func TestClientWithoutEngineIsNotAnEngine(t *testing.T) {
	enginetest.CLI(t, "docker", `echo "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" >&2; exit 1`)
	_, err := engine.Detect(context.Background())
	if !errors.Is(err, engine.ErrNoEngine) || !strings.Contains(err.Error(), "Cannot connect to the Docker daemon") {
		t.Fatalf("Detect = %v; want ErrNoEngine naming docker's answer", err)
	}
}

func TestEngineThatAnswersIsFound(t *testing.T) {
	enginetest.CLI(t, "podman", `echo 5.4.0`)
	e, err := engine.Detect(context.Background())
	if err != nil || e.Binary != "podman" || e.Version != "5.4.0" {
		t.Fatalf("Detect = %+v, %v", e, err)
	}
}

func TestNothingInstalled(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	if _, err := engine.Detect(context.Background()); !errors.Is(err, engine.ErrNoEngine) || !strings.Contains(err.Error(), "none of") {
		t.Fatalf("Detect = %v", err)
	}
}

func TestHungEngineIsBounded(t *testing.T) {
	enginetest.CLI(t, "docker", `exec /bin/sleep 60`) // PATH holds only the fake
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	start := time.Now()
	if _, err := engine.Detect(ctx); !errors.Is(err, engine.ErrNoEngine) {
		t.Fatalf("Detect = %v", err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("Detect took %s with a hung engine", d)
	}
}

func TestMissingImagesAndRegistry(t *testing.T) {
	enginetest.CLI(t, "docker", `case "$1 $2 $3" in
  "version"*) echo 27.5.1 ;;
  "image inspect present:1") echo '[{}]' ;;
  *) echo "No such image: $3" >&2; exit 1 ;;
esac`)
	e, err := engine.Detect(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if got := e.Missing(context.Background(), "present:1", "absent:2"); len(got) != 1 || got[0] != "absent:2" {
		t.Fatalf("Missing = %v; want [absent:2]", got)
	}

	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusUnauthorized) }))
	defer srv.Close()
	enginetest.NoRegistry(t)
	engine.RegistryURL = srv.URL + "/v2/"
	if !engine.RegistryAnswers(context.Background()) {
		t.Error("a registry answering 401 does not count as answering")
	}
	srv.Close()
	if engine.RegistryAnswers(context.Background()) {
		t.Error("a closed registry counts as answering")
	}
}
