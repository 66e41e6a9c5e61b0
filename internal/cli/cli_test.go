package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

func eventcheck(t *testing.T, ctx context.Context, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := Main(ctx, args, &out, &out)
	return code, out.String()
}

func TestUsageErrorsExit2(t *testing.T) {
	ctx := context.Background()
	// checks.yaml problems stop the run before any environment is up.
	bad := t.TempDir()
	writeTree(t, bad, map[string]string{
		"base/kustomization.yaml": "resources: [cm.yaml]\n",
		"base/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"checks.yaml":             "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: x\nphases:\n  - name: a\n    apply: base\n    documents:\n      - {name: d, timeout: -5s}\n      - {name: d}\n  - {name: b, apply: ../../../../etc}\n",
	})
	checks := filepath.Join(bad, "checks.yaml")
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"run", "--scenarios", bad}, checks + ":8:28: phases[0].documents[0].timeout: -5s is negative"},
		{[]string{"run", "--scenarios", bad}, checks + `:9:16: phases[0].documents[1].name: check "d" is used twice`},
		{[]string{"run", "--scenarios", bad}, checks + `:10:22: phases[1].apply: "../../../../etc" is outside the scenario directory`},
		{[]string{"lint", "--scenario", bad}, checks + ":8:28: error: phases[0].documents[0].timeout: -5s is negative"},
		{[]string{"run", "--json", "/proc/eventcheck/report.json"}, "--json /proc/eventcheck/report.json cannot be written"},
		{[]string{"run", "--scenarios", "/nonexistent/scenarios"}, "/nonexistent/scenarios"},
		{[]string{"run", "--cluster", "minikube"}, `--cluster "minikube"`},
		{[]string{"run", "--opensearch", "url"}, "--opensearch-url"},
		{[]string{"run", "--cluster", "kubeconfig", "--opensearch-url", "http://127.0.0.1:1", "--load-image", "events-exporter:dev"}, "--load-image: an existing cluster (--cluster kubeconfig) pulls its images from registries only"},
		{[]string{"env", "up", "--cluster", "kubeconfig", "--image-archive", "/etc/hostname"}, "--image-archive: an existing cluster"},
		{[]string{"run", "--image-archive", "/nonexistent/exporter.tar"}, "--image-archive /nonexistent/exporter.tar: not a file"},
		{[]string{"run", "--opensearch", "url", "--opensearch-url", "https://127.0.0.1:9200", "--opensearch-security"}, "--opensearch-security is the local OpenSearch's"},
		{[]string{"run", "--opensearch", "local", "--opensearch-security", "--opensearch-version", "2.19"}, `--opensearch-version "2.19" with --opensearch-security`},
		{[]string{"run", "--no-such-flag"}, "no-such-flag"},
		{[]string{"env", "upp"}, `unknown command "upp" for "eventcheck env"`},
		{[]string{"env", "engine", "sideways"}, `unknown command "sideways" for "eventcheck env engine"`},
		{[]string{"env", "up", "--cluster", "minikube"}, `--cluster "minikube"`},
		{[]string{"run", "--opensearch-password-file", "/dev/zero"}, "/dev/zero: not a regular file"},
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
	t.Parallel() // an environment of its own; go test runs two such at a time
	dir := filepath.Join(t.TempDir(), "cluster")
	url := closedURL(t)
	start := time.Now()
	artifacts := filepath.Join(t.TempDir(), "artifacts")
	code, out := eventcheck(t, context.Background(), "run", "--cluster", "local", "--cluster-dir", dir, "--opensearch", "url", "--opensearch-url", url,
		"--artifacts", artifacts)
	if code != exitcode.Environment || !strings.Contains(out, url) || !strings.Contains(out, "unreachable") {
		t.Fatalf("exit %d, output:\n%s\nwant exit 3 naming %s", code, out, url)
	}
	// An environment that never came up still says where its logs went.
	if logs := filepath.Join(artifacts, "logs"); !strings.Contains(out, logs) {
		t.Errorf("output does not name %s:\n%s", logs, out)
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
	t.Parallel() // an environment of its own; go test runs two such at a time
	sc := neverMatchingScenario(t)
	artifacts := filepath.Join(t.TempDir(), "artifacts")
	junit := filepath.Join(t.TempDir(), "junit.xml")
	html := filepath.Join(t.TempDir(), "report.html")
	code, out := eventcheck(t, context.Background(), "run", "--cluster", "local", "--opensearch", "local",
		"--scenarios", sc, "--artifacts", artifacts, "--junit", junit, "--report", html)
	if code != exitcode.CheckFailed {
		t.Fatalf("exit %d, want 1:\n%s", code, out)
	}
	checkNearestMissesOutput(t, out)
	checkFailureArtifacts(t, artifacts)
	checkFailureHTMLReport(t, html)
	checkJUnitFailures(t, junit, 1)
	if t.Failed() {
		t.Log(out)
	}
}

// neverMatchingScenario writes a scenario whose one document check can
// never pass (a message no event has) about a Pod that fails to pull, so
// there are near misses to show; it returns the scenario directory.
func neverMatchingScenario(t *testing.T) string {
	t.Helper()
	sc := t.TempDir()
	writeTree(t, sc, map[string]string{
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
	})
	return sc
}

// checkNearestMissesOutput wants the failed check, its nearest miss and
// why it missed, and the diagnostics a person acts on.
func checkNearestMissesOutput(t *testing.T, out string) {
	t.Helper()
	for _, want := range []string{
		"✗ only: document impossible",
		"nearest: Warning Failed Pod/pulls-nothing",
		`message lacks "this text never appears"`,
		"events in namespace never (from the API)",
		"waiting: ErrImagePull", // or ImagePullBackOff: the pod state is shown
		"exporter /readyz",
		"3 passed, 1 failed", // apply, then the accounting of every event and of rejections
	} {
		if want == "waiting: ErrImagePull" && strings.Contains(out, "waiting: ImagePullBackOff") {
			continue
		}
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
}

// checkFailureArtifacts wants what a failed run leaves to debug it with.
func checkFailureArtifacts(t *testing.T, artifacts string) {
	t.Helper()
	for _, f := range []string{"diagnostics.txt", "logs/exporter.log", "logs/cluster/kube-apiserver.log"} {
		if _, err := os.Stat(filepath.Join(artifacts, f)); err != nil {
			t.Errorf("artifact %s: %v", f, err)
		}
	}
}

// checkFailureHTMLReport wants the report to say FAIL and show the
// diagnostics, the missing text, the timeline and the object.
func checkFailureHTMLReport(t *testing.T, html string) {
	t.Helper()
	page, err := os.ReadFile(html)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FAIL", `id="diagnostics"`, "this text never appears", `class="timeline"`, "pulls-nothing"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("HTML report lacks %s", want)
		}
	}
}

// checkJUnitFailures wants one test suite with exactly failures failed.
func checkJUnitFailures(t *testing.T, junit string, failures int) {
	t.Helper()
	data, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	var suites struct {
		Suites []struct {
			Failures int `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal(data, &suites); err != nil || len(suites.Suites) != 1 || suites.Suites[0].Failures != failures {
		t.Fatalf("junit %s (%v)", data, err)
	}
}

// writeTree writes files (path → content) under dir.
func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestInterruptCleansUpAndExits130(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an environment; skipped with -short")
	}
	t.Parallel() // an environment of its own; go test runs two such at a time
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

// testEnv is an `eventcheck env` of one test: its own cluster name and
// state directory, passed as flags (no process-wide setting, so tests
// with environments run in parallel).
type testEnv struct{ name, dir string }

// privateEnv makes a testEnv; env down runs at cleanup.
func privateEnv(t *testing.T, prefix string) testEnv {
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
	te := testEnv{name: prefix + strconv.Itoa(os.Getpid()), dir: state}
	t.Cleanup(func() { te.cli(t, context.Background(), "env", "down") })
	return te
}

// cli runs eventcheck with the environment's flags added.
func (te testEnv) cli(t *testing.T, ctx context.Context, args ...string) (int, string) {
	t.Helper()
	return eventcheck(t, ctx, append(args, "--cluster-name", te.name, "--env-dir", te.dir)...)
}

// openSearchDir is where its env up keeps OpenSearch.
func (te testEnv) openSearchDir() string { return harness.OpenSearchEnvDir(te.dir) }

// env up keeps an environment that run --reuse uses and env down stops.
func TestEnvLifecycleWithReuse(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an environment; skipped with -short")
	}
	t.Parallel() // an environment of its own; go test runs two such at a time
	te := privateEnv(t, "cli-test-")
	ctx := context.Background()

	if code, out := te.cli(t, ctx, "env", "status"); code != exitcode.Environment {
		t.Fatalf("status before up: exit %d\n%s", code, out)
	}
	code, out := te.cli(t, ctx, "env", "up")
	if code != 0 || !strings.Contains(out, "kubeconfig") || !strings.Contains(out, "OpenSearch: http://127.0.0.1:") {
		t.Fatalf("env up: exit %d\n%s", code, out)
	}
	if code, out := te.cli(t, ctx, "env", "status"); code != 0 {
		t.Fatalf("status after up: exit %d\n%s", code, out)
	}
	// The README's main job, as `make run` runs it, with its relative
	// report paths in a fresh directory: the reports it promises are
	// written, directories and all.
	fresh := t.TempDir()
	code, out = te.cli(t, ctx, append(makeRunArgs(t, fresh), "--reuse", "--cluster", "local")...)
	if code != 0 || !strings.Contains(out, " passed, 0 failed") || strings.Contains(out, "✗") {
		t.Fatalf("make run's command line with --reuse: exit %d\n%s", code, out)
	}
	openReports(t, filepath.Join(fresh, "artifacts"))
	// The run left the environment running.
	if code, out := te.cli(t, ctx, "env", "status"); code != 0 {
		t.Fatalf("status after run: exit %d\n%s", code, out)
	}
	lostEventsFailTheRun(t, ctx, te)
	if code, out := te.cli(t, ctx, "env", "down"); code != 0 {
		t.Fatalf("env down: exit %d\n%s", code, out)
	}
	if code, _ := te.cli(t, ctx, "env", "status"); code != exitcode.Environment {
		t.Fatalf("status after down: exit %d", code)
	}
	if code, out := te.cli(t, ctx, "run", "--reuse", "--cluster", "local"); code != exitcode.Environment || !strings.Contains(out, "env up") {
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
	t.Parallel() // an environment of its own; go test runs two such at a time
	te := privateEnv(t, "cli-reuse-")
	ctx := context.Background()
	if code, out := te.cli(t, ctx, "env", "up"); code != 0 {
		t.Fatalf("env up: exit %d\n%s", code, out)
	}
	if err := opensearch.StopDetached(te.openSearchDir()); err != nil {
		t.Fatal(err)
	}
	code, out := te.cli(t, ctx, "run", "--reuse", "--cluster", "local")
	if code != exitcode.Environment || !strings.Contains(out, "no OpenSearch from `eventcheck env up`") {
		t.Fatalf("run --reuse without OpenSearch: exit %d\n%s", code, out)
	}
	cache, _ := os.UserCacheDir()
	if _, err := os.Stat(filepath.Join(cache, "eventcheck", "local", te.name, "ready")); err != nil {
		t.Fatal("run --reuse stopped a cluster it did not start")
	}
}

// lostEventsFailTheRun: when OpenSearch rejects the documents (here an
// index whose mapping cannot take any event), a scenario without a single
// document check still fails, naming the events that have no document and
// the reason OpenSearch gave the exporter.
func lostEventsFailTheRun(t *testing.T, ctx context.Context, te testEnv) {
	t.Helper()
	url, ok := opensearch.Detached(te.openSearchDir())
	if !ok {
		t.Fatal("no OpenSearch from env up")
	}
	for _, req := range []struct{ method, body string }{
		{http.MethodDelete, ""},
		{http.MethodPut, `{"mappings":{"properties":{"involvedObject":{"properties":{"name":{"type":"long"}}}}}}`},
	} {
		r, _ := http.NewRequestWithContext(ctx, req.method, url+"/"+eventindex.Index, strings.NewReader(req.body))
		r.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	t.Cleanup(func() {
		r, _ := http.NewRequest(http.MethodDelete, url+"/"+eventindex.Index, nil)
		if resp, err := http.DefaultClient.Do(r); err == nil {
			resp.Body.Close()
		}
	})
	sc := t.TempDir()
	writeTree(t, sc, map[string]string{
		"base/kustomization.yaml": "namespace: lost\nresources: [ns.yaml, deploy.yaml]\n",
		"base/ns.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata: {name: lost}\n",
		"base/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web, labels: {app: web, app.kubernetes.io/name: web}}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
`,
		"checks.yaml": `apiVersion: eventcheck.dev/v1
kind: Checks
namespace: lost
completeness: {timeout: 10s}
phases:
  - name: only
    apply: base
    workloads:
      - {kind: Deployment, name: web, condition: Available, timeout: 60s}
`,
	})
	code, out := te.cli(t, ctx, "run", "--reuse", "--cluster", "local", "--scenarios", sc)
	if code != exitcode.CheckFailed {
		t.Fatalf("run with every document rejected: exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"✗ only: completeness every event accounted for",
		"events in the API (namespace lost) have no document after 10s",
		"Normal ScalingReplicaSet Deployment/web",
		"✗ only: exporter no document rejected",
		"mapper_parsing_exception",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if t.Failed() {
		t.Log(out)
	}
}

// makeRunArgs is the eventcheck command line of the Makefile's run target,
// its relative paths taken from dir.
func makeRunArgs(t *testing.T, dir string) []string {
	t.Helper()
	data, err := os.ReadFile("../../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.Lines(string(data)) {
		if rest, ok := strings.CutPrefix(line, "\t$(EVENTCHECK) run "); ok {
			args := []string{"run"}
			for _, a := range strings.Fields(rest) {
				switch {
				case strings.HasPrefix(a, "artifacts"):
					a = filepath.Join(dir, a)
				case strings.HasPrefix(a, "bin/"): // what `make localcluster` built
					a = filepath.Join("..", "..", a)
				}
				args = append(args, a)
			}
			return args
		}
	}
	t.Fatal("the Makefile has no `$(EVENTCHECK) run` line")
	return nil
}

// openReports reads the three reports of a passing run.
func openReports(t *testing.T, dir string) {
	t.Helper()
	var rep struct {
		Passed  bool `json:"passed"`
		Results []struct {
			Kind       string
			Accounting *struct{ Events, Documented int }
		} `json:"results"`
	}
	data, err := os.ReadFile(filepath.Join(dir, "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &rep); err != nil || !rep.Passed || len(rep.Results) == 0 {
		t.Fatalf("report.json: %v, %s", err, data)
	}
	accounted := 0
	for _, r := range rep.Results {
		if a := r.Accounting; a != nil && a.Events > 0 && a.Events == a.Documented {
			accounted++
		}
	}
	if accounted != 2 {
		t.Errorf("report.json accounts for every event in %d phases, want 2", accounted)
	}
	var suites struct {
		Suites []struct {
			Tests    int `xml:"tests,attr"`
			Failures int `xml:"failures,attr"`
		} `xml:"testsuite"`
	}
	data, err = os.ReadFile(filepath.Join(dir, "junit.xml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(data, &suites); err != nil || len(suites.Suites) != 2 || suites.Suites[0].Tests == 0 || suites.Suites[0].Failures != 0 {
		t.Fatalf("junit.xml: %v, %s", err, data)
	}
	page, err := os.ReadFile(filepath.Join(dir, "report.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"PASS", `id="checks"`, `id="accounting"`, `id="dashboard"`} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report.html lacks %s", want)
		}
	}
}
