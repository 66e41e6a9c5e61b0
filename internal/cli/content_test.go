package cli

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// The content's own exporter config is what runs, with any exporter under
// test, on a workshop module as it is laid out: green when the story
// holds, red with the reason when the config breaks it.
func TestContentRunsAsItShips(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an environment; skipped with -short")
	}
	t.Parallel() // an environment of its own; go test runs two such at a time
	c := newContent(t, "cli-content-")
	ctx, run, gate, fixed, quick, exporterBin, values, te := context.Background(), c.run, c.gate, c.fixed, c.quick, c.exporterBin, c.values, c.te

	t.Run("the module unmodified, its values, our exporter", func(t *testing.T) {
		code, out := run(t, "--checks", gate, "--exporter-config", fixed, "--set", "config.receivers[0].opensearch.hosts[0]=https://placeholder.example:443")
		if code != 0 || !strings.Contains(out, "completeness every event accounted for") || !strings.Contains(out, "panel Events") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("our exporter binary as a process", func(t *testing.T) {
		code, out := run(t, "--checks", gate, "--exporter", "process", "--exporter-config", fixed,
			"--exporter-command", exporterBin+" -conf {config} -kubeconfig {kubeconfig} -metrics-address 127.0.0.1:0")
		if code != 0 || !strings.Contains(out, " passed, 0 failed") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("an exporter already installed is read where its config writes", func(t *testing.T) {
		url, ok := opensearch.Detached(te.openSearchDir())
		if !ok {
			t.Fatal("no OpenSearch from env up")
		}
		kubeconfig := strings.TrimSpace(envStatusKubeconfig(t, ctx, te))
		installed := values("installed.yaml", "index: eks-kubernetes-events\n", "index: installed-events\n", `indexFormat: "eks-kubernetes-events"`, `indexFormat: "installed-events"`,
			"          - ccc", "          - "+url, "        username: aaa\n", "", "        password: bbb\n", "")
		cmd := exec.Command(exporterBin, "-conf", installed, "-kubeconfig", kubeconfig, "-metrics-address", "127.0.0.1:0")
		var log strings.Builder
		cmd.Stdout, cmd.Stderr = &log, &log
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		code, out := run(t, "--checks", quick, "--exporter", "existing", "--exporter-config", installed)
		if code != 0 || !strings.Contains(out, "✓ broken: document scenario-a-failed-mount") {
			t.Fatalf("exit %d\n%s\ninstalled exporter's log:\n%s", code, out, log.String())
		}
	})
}

// Content that breaks the story is red, and the failing checks say why: a
// route that drops the scenario's namespace, another index than the
// dashboard reads, an exporter with the upstream one's defects.
func TestContentThatBreaksTheStoryIsRed(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an environment; skipped with -short")
	}
	t.Parallel() // an environment of its own; go test runs two such at a time
	c := newContent(t, "cli-broken-")
	run, gate, fixed, quick, dir, values := c.run, c.gate, c.fixed, c.quick, c.dir, c.values

	t.Run("a route that drops the scenario's namespace is red", func(t *testing.T) {
		dropping := values("drop.yaml", "    routes:\n", "    drop:\n      - namespace: test\n    routes:\n")
		code, out := run(t, "--checks", quick, "--exporter-config", dropping)
		for _, want := range []string{`✗ broken: document scenario-a-failed-mount: no document with type "Warning", reason "FailedMount"`,
			"events in the API (namespace test) have no document after 10s"} {
			if code != exitcode.CheckFailed || !strings.Contains(out, want) {
				t.Errorf("exit %d; output lacks %q", code, want)
			}
		}
		if t.Failed() {
			t.Log(out)
		}
	})
	t.Run("another index than the dashboard reads is red", func(t *testing.T) {
		other := values("other.yaml", "index: eks-kubernetes-events\n", "index: k8s-events\n", `indexFormat: "eks-kubernetes-events"`, `indexFormat: "k8s-events"`)
		code, out := run(t, "--checks", gate, "--exporter-config", other)
		// The documents are found where the config writes them; the
		// dashboard, which reads eks-kubernetes-events*, shows nothing.
		if code != exitcode.CheckFailed || !strings.Contains(out, "✓ broken: document scenario-a-failed-mount") || !strings.Contains(out, "✗ broken: panel") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})
	t.Run("a naive exporter fails exactly the checks for its defects", func(t *testing.T) {
		naive := goBuild(t, dir, "../../fixtures/naive-exporter")
		dashboards, _ := filepath.Abs("../../fixtures/dashboards/workshop.ndjson")
		defects := filepath.Join(dir, "defect-checks.yaml")
		if err := os.WriteFile(defects, []byte(`apiVersion: eventcheck.dev/v1
kind: Checks
namespace: test
completeness: {timeout: 8s}
phases:
  - name: broken
    apply: base
    documents:
      - {name: scenario-a-failed-mount, type: Warning, reason: FailedMount, kind: Pod, namePrefix: scenario-a, message: 'secret "misspelt-secret-name" not found', timeout: 8s}
      - {name: scenario-c-failed-scheduling, type: Warning, reason: FailedScheduling, kind: Pod, namePrefix: scenario-c, messageRegexp: 'Insufficient cpu', timeout: 8s}
    updates:
      - {name: failed-mount-count-follows, reason: FailedMount, kind: Pod, namePrefix: scenario-a, timeout: 8s}
    enrichment:
      - {name: pod-labels-are-their-own, kind: Pod, namePrefix: scenario-, timeout: 8s}
dashboard: {file: `+dashboards+`, id: kubernetes-events, after: broken, warningsAtLeast: 2}
`), 0o644); err != nil {
			t.Fatal(err)
		}
		code, out := run(t, "--checks", defects, "--exporter", "process", "--exporter-config", fixed,
			"--exporter-command", naive+" -conf {config} -kubeconfig {kubeconfig}")
		var failed []string
		for line := range strings.Lines(out) {
			if f := strings.Fields(line); len(f) > 3 && f[0] == "broken" && f[3] == "✗" {
				failed = append(failed, f[1]+" "+f[2])
			}
		}
		want := []string{"document scenario-c-failed-scheduling", "updates failed-mount-count-follows", "enrichment pod-labels-are-their-own", "panel Events"}
		if code != exitcode.CheckFailed || strings.Join(failed, ", ") != strings.Join(want, ", ") {
			t.Fatalf("exit %d, failed %q; want exit 1 and exactly %q\n%s", code, failed, want, out)
		}
		for _, cause := range []string{"lastTimestamp is empty", "the exporter does not follow an Event's updates", "carries labels {app=scenario-", "no row for FailedScheduling"} {
			if !strings.Contains(out, cause) {
				t.Errorf("output does not name the cause %q", cause)
			}
		}
		if t.Failed() {
			t.Log(out)
		}
	})
}

// content is a workshop module with its environment: the module's values
// (edited per case), a gate's checks, our exporter built as a binary.
type content struct {
	te                testEnv
	module, gate, dir string
	fixed, quick      string
	exporterBin       string
	values            func(name string, edits ...string) string
	run               func(t *testing.T, args ...string) (int, string)
}

func newContent(t *testing.T, prefix string) *content {
	t.Helper()
	te := privateEnv(t, prefix)
	ctx := context.Background()
	if code, out := te.cli(t, ctx, "env", "up"); code != 0 {
		t.Fatalf("env up: exit %d\n%s", code, out)
	}
	module, _ := filepath.Abs("../../fixtures/workshop-module")
	gate, _ := filepath.Abs("../../fixtures/workshop-gate/checks.yaml")
	shipped, err := os.ReadFile(filepath.Join(module, "config", "events-exporter-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	// values writes the module's values with edits (the misspelt key, which
	// ours refuses, spelt right first).
	values := func(name string, edits ...string) string {
		body := strings.Replace(string(shipped), "maxEventsAgeSeconds: 3600", "maxEventAgeSeconds: 3600", 1)
		body = strings.NewReplacer(edits...).Replace(body)
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fixed := values("fixed.yaml")
	// Short timeouts for the runs that must fail: one check, then the
	// accounting.
	quick := filepath.Join(dir, "quick-checks.yaml")
	if err := os.WriteFile(quick, []byte(`apiVersion: eventcheck.dev/v1
kind: Checks
namespace: test
completeness: {timeout: 10s}
phases:
  - name: broken
    apply: base
    documents:
      - {name: scenario-a-failed-mount, type: Warning, reason: FailedMount, kind: Pod, namePrefix: scenario-a, timeout: 10s}
`), 0o644); err != nil {
		t.Fatal(err)
	}
	run := func(t *testing.T, args ...string) (int, string) {
		t.Helper()
		return te.cli(t, ctx, append([]string{"run", "--reuse", "--cluster", "local",
			"--scenarios", filepath.Join(module, "scenarios", "events")}, args...)...)
	}
	exporterBin := goBuild(t, dir, "../../cmd/events-exporter")

	return &content{te: te, module: module, gate: gate, dir: dir, fixed: fixed, quick: quick, exporterBin: exporterBin, values: values, run: run}
}

// envStatusKubeconfig is the kubeconfig path `env up` reported.
func envStatusKubeconfig(t *testing.T, ctx context.Context, te testEnv) string {
	t.Helper()
	_, out := te.cli(t, ctx, "env", "status")
	for line := range strings.Lines(out) {
		if _, rest, ok := strings.Cut(line, "kubeconfig "); ok {
			return strings.Fields(rest)[0]
		}
	}
	t.Fatalf("env status names no kubeconfig:\n%s", out)
	return ""
}

// goBuild builds the main package in pkgDir into dir and returns the binary.
func goBuild(t *testing.T, dir, pkgDir string) string {
	t.Helper()
	bin := filepath.Join(dir, filepath.Base(pkgDir))
	if out, err := exec.Command("go", "build", "-o", bin, pkgDir).CombinedOutput(); err != nil {
		t.Fatalf("building %s: %v\n%s", pkgDir, err, out)
	}
	return bin
}
