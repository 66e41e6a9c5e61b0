package cli

import (
	"bytes"
	"context"
	"encoding/xml"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/harness"
	oslocal "github.com/eventcheck/eventcheck/internal/opensearch/providers/local"
)

func eventcheck(t *testing.T, ctx context.Context, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := Main(ctx, args, &out, &out)
	return code, out.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--scenarios", "/nonexistent/scenarios"}, "/nonexistent/scenarios"},
		{[]string{"run", "--cluster", "minikube"}, `--cluster "minikube"`},
		{[]string{"run", "--opensearch", "url"}, "--opensearch-url"},
		{[]string{"run", "--no-such-flag"}, "no-such-flag"},
	} {
		code, out := eventcheck(t, ctx, tc.args...)
		if code != exitcode.Usage || !strings.Contains(out, tc.want) {
			t.Errorf("%v: exit %d, output %q; want exit 2 naming %q", tc.args, code, out, tc.want)
		}
	}
}

func closedURL(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return "http://127.0.0.1:" + strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
}

func TestUnreachableOpenSearchExits3AndCleansUp(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster; skipped with -short")
	}
	dir := filepath.Join(t.TempDir(), "cluster")
	url := closedURL(t)
	start := time.Now()
	code, out := eventcheck(t, context.Background(), "run", "--cluster", "local", "--cluster-dir", dir, "--opensearch", "url", "--opensearch-url", url)
	if code != exitcode.Environment || !strings.Contains(out, url) || !strings.Contains(out, "unreachable") {
		t.Fatalf("exit %d, output:\n%s\nwant exit 3 naming %s", code, out, url)
	}
	if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
		t.Error("the local cluster was left running")
	}
	if d := time.Since(start); d > 3*time.Minute {
		t.Errorf("took %s", d)
	}
}

// A check that can never match fails with exit 1, names its nearest
// misses, writes diagnostics and reports, and cleans up.
func TestCheckThatNeverMatchesExits1WithNearestMisses(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an environment; skipped with -short")
	}
	sc := t.TempDir()
	files := map[string]string{
		"base/kustomization.yaml": "namespace: never\nresources: [ns.yaml, deploy.yaml]\n",
		"base/ns.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata: {name: never}\n",
		"base/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: pulls-nothing}
spec:
  selector: {matchLabels: {app: x}}
  template:
    metadata: {labels: {app: x}}
    spec: {containers: [{name: c, image: no-such-image}]}
`,
		"checks.yaml": `apiVersion: eventcheck.dev/v1
kind: Checks
namespace: never
phases:
  - name: only
    apply: base
    documents:
      - {name: impossible, type: Warning, reason: Failed, namePrefix: pulls-nothing, message: "this text never appears", timeout: 15s}
`,
	}
	for name, body := range files {
		p := filepath.Join(sc, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	artifacts := filepath.Join(t.TempDir(), "artifacts")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	html := filepath.Join(t.TempDir(), "report.html")
	code, out := eventcheck(t, context.Background(), "run", "--cluster", "local", "--opensearch", "local",
		"--scenarios", sc, "--artifacts", artifacts, "--junit", junit, "--report", html)
	if code != exitcode.CheckFailed {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	for _, want := range []string{
		"✗ only: document impossible",
		"nearest: Warning Failed Pod/pulls-nothing",
		`message lacks "this text never appears"`,
		"events in namespace never (from the API)",
		"waiting: ErrImagePull", // or ImagePullBackOff: the pod state is shown
		"exporter /readyz",
		"1 passed, 1 failed",
	} {
		if want == "waiting: ErrImagePull" && strings.Contains(out, "waiting: ImagePullBackOff") {
			continue
		}
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	for _, f := range []string{"diagnostics.txt", "logs/exporter.log", "logs/cluster/kube-apiserver.log"} {
		if _, err := os.Stat(filepath.Join(artifacts, f)); err != nil {
			t.Errorf("artifact %s: %v", f, err)
		}
	}
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FAIL", `id="diagnostics"`, "this text never appears", `class="timeline"`, "pulls-nothing"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("HTML report lacks %s", want)
		}
	}
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Failures int `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &suites); err != nil || len(suites.Suites) != 1 || suites.Suites[0].Failures != 1 {
		t.Fatalf("junit %s (%v)", data, err)
	}
	if t.Failed() {
		t.Log(out)
	}
}

func TestInterruptCleansUpAndExits130(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an environment; skipped with -short")
	}
	dir := filepath.Join(t.TempDir(), "cluster")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	var code int
	var out string
	go func() {
		code, out = eventcheck(t, ctx, "run", "--cluster", "local", "--cluster-dir", dir, "--opensearch", "local")
		close(done)
	}()
	// Interrupt once the scenario is being applied, as a person would.
	for deadline := time.Now().Add(3 * time.Minute); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
			break
		}
	}
	time.Sleep(3 * time.Second) // let the run reach its checks; the interrupt is the event under test
	cancel()
	select {
	case <-done:
	case <-time.After(3 * time.Minute):
		t.Fatal("run did not stop after the interrupt")
	}
	if code != exitcode.Interrupted {
		t.Fatalf("exit %d, want 130:\n%s", code, out)
	}
	if _, err := os.Stat(filepath.Join(dir, "ready")); err == nil {
		t.Error("the local cluster was left running")
	}
}

// privateEnv points `eventcheck env` at a state directory of this test and
// returns a cluster name of its own; env down runs at cleanup.
func privateEnv(t *testing.T, prefix string) string {
	t.Helper()
	// The OpenSearch user must reach it: not under t.TempDir (mode 700).
	state, err := os.MkdirTemp("", "ec-env-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(state) })
	if err := os.Chmod(state, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("EVENTCHECK_ENV_DIR", state)
	name := prefix + strconv.Itoa(os.Getpid())
	t.Cleanup(func() { eventcheck(t, context.Background(), "env", "down", "--cluster-name", name) })
	return name
}

// env up keeps an environment that run --reuse uses and env down stops.
func TestEnvLifecycleWithReuse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an environment; skipped with -short")
	}
	name := privateEnv(t, "cli-test-")
	ctx := context.Background()

	if code, out := eventcheck(t, ctx, "env", "status", "--cluster-name", name); code != exitcode.Environment {
		t.Fatalf("status before up: exit %d\n%s", code, out)
	}
	code, out := eventcheck(t, ctx, "env", "up", "--cluster-name", name)
	if code != 0 || !strings.Contains(out, "kubeconfig") || !strings.Contains(out, "OpenSearch: http://127.0.0.1:") {
		t.Fatalf("env up: exit %d\n%s", code, out)
	}
	if code, out := eventcheck(t, ctx, "env", "status", "--cluster-name", name); code != 0 {
		t.Fatalf("status after up: exit %d\n%s", code, out)
	}
	code, out = eventcheck(t, ctx, "run", "--reuse", "--cluster", "local", "--cluster-name", name)
	if code != 0 || !strings.Contains(out, " passed, 0 failed") {
		t.Fatalf("run --reuse: exit %d\n%s", code, out)
	}
	// The run left the environment running.
	if code, out := eventcheck(t, ctx, "env", "status", "--cluster-name", name); code != 0 {
		t.Fatalf("status after run: exit %d\n%s", code, out)
	}
	if code, out := eventcheck(t, ctx, "env", "down", "--cluster-name", name); code != 0 {
		t.Fatalf("env down: exit %d\n%s", code, out)
	}
	if code, _ := eventcheck(t, ctx, "env", "status", "--cluster-name", name); code != exitcode.Environment {
		t.Fatalf("status after down: exit %d", code)
	}
	if code, out := eventcheck(t, ctx, "run", "--reuse", "--cluster", "local", "--cluster-name", name); code != exitcode.Environment || !strings.Contains(out, "env up") {
		t.Fatalf("run --reuse without an environment: exit %d\n%s", code, out)
	}
}

func TestLintExitCodesAndFormats(t *testing.T) {
	t.Chdir("../..")
	ctx := context.Background()
	code, out := eventcheck(t, ctx, "lint", "--exporter-config", "fixtures/exporter/workshop-values.yaml")
	if code != exitcode.Usage || !strings.Contains(out, "workshop-values.yaml:9:3: error: config.maxEventsAgeSeconds: unknown field (did you mean maxEventAgeSeconds?)") {
		t.Fatalf("errors: exit %d\n%s", code, out)
	}
	code, out = eventcheck(t, ctx, "lint", "--exporter-config", "fixtures/lint/exporter-unused-receiver.yaml", "--format", "json")
	if code != 0 || !strings.Contains(out, `"severity": "warning"`) || !strings.Contains(out, `"line": 10`) {
		t.Fatalf("warnings only: exit %d\n%s", code, out)
	}
	code, out = eventcheck(t, ctx, "lint", "--scenario", "scenarios/events", "--dashboards", "fixtures/dashboards/workshop.ndjson", "--exporter-config", "exporter/deploy/config.yaml", "--format", "json")
	if code != 0 || strings.TrimSpace(out) != "[]" {
		t.Fatalf("clean content: exit %d\n%s", code, out)
	}
	if code, out := eventcheck(t, ctx, "lint"); code != exitcode.Usage || !strings.Contains(out, "nothing to lint") {
		t.Fatalf("no input: exit %d\n%s", code, out)
	}
}

// run --reuse with the cluster up but no OpenSearch must fail without
// stopping the cluster env up started.
func TestReuseWithoutOpenSearchLeavesTheClusterAlone(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an environment; skipped with -short")
	}
	name := privateEnv(t, "cli-reuse-")
	ctx := context.Background()
	if code, out := eventcheck(t, ctx, "env", "up", "--cluster-name", name); code != 0 {
		t.Fatalf("env up: exit %d\n%s", code, out)
	}
	if err := oslocal.StopDetached(harness.OpenSearchEnvDir()); err != nil {
		t.Fatal(err)
	}
	code, out := eventcheck(t, ctx, "run", "--reuse", "--cluster", "local", "--cluster-name", name)
	if code != exitcode.Environment || !strings.Contains(out, "no OpenSearch from `eventcheck env up`") {
		t.Fatalf("run --reuse without OpenSearch: exit %d\n%s", code, out)
	}
	cache, _ := os.UserCacheDir()
	if _, err := os.Stat(filepath.Join(cache, "eventcheck", "local", name, "ready")); err != nil {
		t.Fatal("run --reuse stopped a cluster it did not start")
	}
}
