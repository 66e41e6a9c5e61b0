package container

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/engine/enginetest"
	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers"
	"github.com/eventcheck/eventcheck/internal/pins"
)

func TestRequestIsASingleInsecureNodeOnKindsNetwork(t *testing.T) {
	o := providers.Options{Network: "kind", ReadyTimeout: time.Minute}
	o.Defaults()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	req := request(p.(*provider).o)
	if req.Image != "opensearchproject/opensearch:"+pins.OpenSearchImageVersion {
		t.Errorf("image %s", req.Image)
	}
	for k, want := range map[string]string{
		"discovery.type":              "single-node",
		"DISABLE_SECURITY_PLUGIN":     "true",
		"DISABLE_INSTALL_DEMO_CONFIG": "true",
		"OPENSEARCH_JAVA_OPTS":        "-Xms512m -Xmx512m",
	} {
		if req.Env[k] != want {
			t.Errorf("env %s = %q, want %q", k, req.Env[k], want)
		}
	}
	if len(req.Networks) != 1 || req.Networks[0] != "kind" || req.NetworkAliases["kind"][0] != networkAlias {
		t.Errorf("networks %v aliases %v: want kind with alias %s", req.Networks, req.NetworkAliases, networkAlias)
	}
	if ep := networkEndpoint(o, providers.Endpoint{URL: "http://127.0.0.1:32768"}); ep == nil || ep.URL != "http://opensearch:9200" {
		t.Errorf("on kind's network, pods reach %+v; want http://opensearch:9200", ep)
	}
	if ep := networkEndpoint(providers.Options{}, providers.Endpoint{URL: "http://127.0.0.1:32768"}); ep != nil {
		t.Errorf("no network, yet a network endpoint %+v", ep)
	}
	if len(req.ExposedPorts) != 1 || req.ExposedPorts[0] != "9200/tcp" {
		t.Errorf("ports %v", req.ExposedPorts)
	}
	if request(providers.Options{Heap: "1g"}).Networks != nil {
		t.Error("no network requested, but one is set")
	}
}

func TestStartWithoutEngineIsAClearError(t *testing.T) {
	t.Setenv("PATH", t.TempDir()) // no engine CLI, whatever this machine has
	p, _ := New(providers.Options{})
	_, err := p.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--opensearch local") {
		t.Fatalf("error = %v", err)
	}
}

// What a killed run left is removed by the next; a live run's container,
// and one another host's run started on a shared engine, are not touched.
func TestOrphansOfDeadRunsAreRemoved(t *testing.T) {
	removed := filepath.Join(t.TempDir(), "removed")
	host, _ := os.Hostname()
	enginetest.CLI(t, "docker", fmt.Sprintf(`case "$1" in
ps) echo "dead1 %[1]s/999999999"; echo "live1 %[1]s/%[2]d"; echo "elsewhere other-host/999999999" ;;
rm) echo "$@" >> %[3]s ;;
esac`, host, os.Getpid(), removed))
	removeOrphans(context.Background(), &engine.Engine{Binary: "docker"}, slog.New(slog.DiscardHandler))
	data, _ := os.ReadFile(removed)
	if got := strings.TrimSpace(string(data)); got != "rm --force --volumes dead1" {
		t.Fatalf("removed %q, want only dead1", got)
	}
}

// The front end turns the reaper off unless the user said otherwise.
func TestConfigureProcessTurnsTheReaperOffUnlessSet(t *testing.T) {
	t.Setenv(ryukDisabled, "")
	ConfigureProcess()
	if got := os.Getenv(ryukDisabled); got != "true" {
		t.Errorf("unset: %s=%q, want true", ryukDisabled, got)
	}
	t.Setenv(ryukDisabled, "false")
	ConfigureProcess()
	if got := os.Getenv(ryukDisabled); got != "false" {
		t.Errorf("set by the user: %s=%q, want it kept", ryukDisabled, got)
	}
}

// Mapped ports are reached on loopback for a local engine: testcontainers
// would take the default gateway in a machine with /.dockerenv.
func TestConfigureProcessReachesMappedPortsOnLoopback(t *testing.T) {
	t.Setenv(hostOverride, "")
	t.Setenv("DOCKER_HOST", "")
	ConfigureProcess()
	if got := os.Getenv(hostOverride); got != "127.0.0.1" {
		t.Fatalf("%s = %q with a local engine", hostOverride, got)
	}
	t.Setenv(hostOverride, "")
	t.Setenv("DOCKER_HOST", "tcp://engine.example:2376")
	ConfigureProcess()
	if got := os.Getenv(hostOverride); got != "" {
		t.Fatalf("%s = %q with a remote engine: its ports are not here", hostOverride, got)
	}
}
