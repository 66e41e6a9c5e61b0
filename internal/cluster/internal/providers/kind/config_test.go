package kind

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	kinderrors "sigs.k8s.io/kind/pkg/errors"
	kindexec "sigs.k8s.io/kind/pkg/exec"

	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers"
	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/engine/enginetest"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "kind.yaml")
	if err := os.WriteFile(path, []byte(body), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// The repository's kind-config.yaml must give the workshop's three
// schedulable nodes, or scenario-c's message changes.
func TestRepositoryConfigHasThreeSchedulableNodes(t *testing.T) {
	cfg, err := loadConfig(filepath.Join("..", "..", "..", "..", "..", "kind-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	n, err := schedulableNodes(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Fatalf("kind-config.yaml has %d schedulable nodes, want 3", n)
	}
	if cfg.Name != "eventcheck" {
		t.Errorf("cluster name = %q, want eventcheck", cfg.Name)
	}
}

func TestSchedulableNodes(t *testing.T) {
	for _, tc := range []struct {
		name string
		body string
		want int
	}{
		{"default single node", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\n", 1},
		{"control plane only", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n", 1},
		{"tainted control plane with workers", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodes:\n- role: control-plane\n- role: worker\n- role: worker\n", 2},
		{"JoinConfiguration does not apply to the first control plane", `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  kubeadmConfigPatches:
  - |
    kind: JoinConfiguration
    nodeRegistration:
      taints: []
- role: worker
`, 1},
		{"patch that keeps taints", `kind: Cluster
apiVersion: kind.x-k8s.io/v1alpha4
nodes:
- role: control-plane
  kubeadmConfigPatches:
  - |
    kind: InitConfiguration
    nodeRegistration:
      kubeletExtraArgs:
        node-labels: "x=y"
- role: worker
`, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, err := loadConfig(writeConfig(t, tc.body))
			if err != nil {
				t.Fatal(err)
			}
			got, err := schedulableNodes(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Fatalf("schedulableNodes = %d, want %d", got, tc.want)
			}
		})
	}
}

func TestLoadConfigErrorsNameTheFile(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"unknown field", "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nnodez: []\n", "nodez"},
		{"wrong kind", "kind: Pod\napiVersion: v1\n", "want kind: Cluster"},
		{"not yaml", "kind: [", "kind.yaml"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := writeConfig(t, tc.body)
			_, err := loadConfig(path)
			if err == nil {
				t.Fatal("want error")
			}
			if !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), path) {
				t.Fatalf("error %q should name %q and the file %s", err, tc.want, path)
			}
		})
	}
	if _, err := loadConfig("/does/not/exist.yaml"); err == nil || !strings.Contains(err.Error(), "/does/not/exist.yaml") {
		t.Fatalf("missing file error = %v", err)
	}
}

func TestNewTakesNameFromConfigAndKeepsKubeconfigOutOfHome(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	path := writeConfig(t, "kind: Cluster\napiVersion: kind.x-k8s.io/v1alpha4\nname: workshop\n")
	p, err := New(providers.Options{ConfigFile: path})
	if err != nil {
		t.Fatal(err)
	}
	kc := p.Kubeconfig()
	if !strings.HasSuffix(kc, filepath.Join("eventcheck", "kind", "workshop.kubeconfig")) {
		t.Fatalf("kubeconfig %q: want eventcheck/kind/workshop.kubeconfig under the cache dir", kc)
	}
	home, _ := os.UserHomeDir()
	if kc == filepath.Join(home, ".kube", "config") {
		t.Fatal("kind provider must never write ~/.kube/config")
	}
}

// Without an engine, Up fails fast with a message that names the cause and
// the way out.
func TestUpWithoutEngineIsAClearBoundedError(t *testing.T) {
	if _, err := engine.Detect(context.Background()); err == nil {
		t.Skip("a container engine is running here; this test covers machines without one")
	}
	p, err := New(providers.Options{Kubeconfig: filepath.Join(t.TempDir(), "kc")})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	err = p.Up(context.Background())
	if err == nil {
		t.Fatal("Up without a container engine succeeded")
	}
	if !errors.Is(err, engine.ErrNoEngine) || !strings.Contains(err.Error(), "--cluster local") {
		t.Fatalf("error %q should wrap ErrNoEngine and suggest --cluster local", err)
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Fatalf("took %s to fail", d)
	}
}

// Without a config file (a workshop's own CI), kind still gets three
// schedulable nodes.
func TestBuiltInConfigHasThreeSchedulableNodes(t *testing.T) {
	cfg, err := defaultConfig()
	if err != nil {
		t.Fatal(err)
	}
	if n, err := schedulableNodes(cfg); err != nil || n != 3 {
		t.Fatalf("built-in config: %d schedulable nodes (%v), want 3", n, err)
	}
}

// An engine without the node image and without a registry: Up says which
// image and how to provide it, before kind tries to pull.
func TestUpWithoutNodeImageNamesIt(t *testing.T) {
	enginetest.WithoutImages(t)
	p, err := New(providers.Options{Kubeconfig: filepath.Join(t.TempDir(), "kc"), NodeImage: "eventcheck/node:v1.37.2"})
	if err != nil {
		t.Fatal(err)
	}
	err = p.Up(context.Background())
	if err == nil || !strings.Contains(err.Error(), "eventcheck/node:v1.37.2") || !strings.Contains(err.Error(), "--node-image") {
		t.Fatalf("Up = %v; want an error naming the image and --node-image", err)
	}
}

// kind's error names the command and its exit status only; what the
// engine said is the cause a person needs.
func TestCreateErrorSaysWhatTheEngineSaid(t *testing.T) {
	run := &kindexec.RunError{Command: []string{"docker", "run", "--privileged"}, Inner: errors.New("exit status 125"),
		Output: []byte("docker: Error response from daemon: failed to create shim task: OCI runtime create failed: runc create failed: unable to start container process: unable to apply caps: operation not permitted: unknown\n")}
	got := engineSaid(kinderrors.Wrap(run, "failed to create cluster"))
	if !strings.Contains(got, "unable to apply caps: operation not permitted") {
		t.Fatalf("engineSaid = %q", got)
	}
	if engineSaid(errors.New("plain")) != "" {
		t.Error("an error without a command's output adds nothing")
	}
}
