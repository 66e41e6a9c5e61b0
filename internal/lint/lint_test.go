package lint

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite fixtures/lint/expected.txt")

func lines(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}

// The output format is stable: it is pinned by a golden file.
func TestFindingsGolden(t *testing.T) {
	t.Chdir("../..")
	got := lines(Run(context.Background(), Inputs{
		ExporterConfig: "fixtures/exporter/workshop-values.yaml",
		Dashboards:     "fixtures/lint/dashboards-bad-field.ndjson",
		Scenario:       "fixtures/lint/scenario-bad",
	}))
	golden := "fixtures/lint/expected.txt"
	if *update {
		_ = os.WriteFile(golden, []byte(got), 0o644)
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if got != string(want) {
		t.Fatalf("findings differ from %s:\n%s", golden, got)
	}
}

func TestEachFinding(t *testing.T) {
	t.Chdir("../..")
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		in     Inputs
		want   string
		errors bool
	}{
		{"the built-in content is clean", Inputs{Scenario: "scenarios/events", ExporterConfig: "exporter/deploy/config.yaml", Dashboards: "fixtures/dashboards/workshop.ndjson", DashboardID: "kubernetes-events"}, "", false},
		{"workshop typo", Inputs{ExporterConfig: "fixtures/exporter/workshop-values.yaml"}, "workshop-values.yaml:9:3: error: config.maxEventsAgeSeconds: unknown field (did you mean maxEventAgeSeconds?)", true},
		{"unused receiver, and an index the dashboard does not match", Inputs{ExporterConfig: "fixtures/lint/exporter-unused-receiver.yaml", Dashboards: "fixtures/dashboards/workshop.ndjson", DashboardID: "kubernetes-events"},
			`exporter-unused-receiver.yaml:10:11: warning: receiver "forgotten" is not used by any route`, true},
		{"index mismatch", Inputs{ExporterConfig: "fixtures/lint/exporter-unused-receiver.yaml", Dashboards: "fixtures/dashboards/workshop.ndjson"},
			`reads event fields from index pattern "eks-kubernetes-events*", which this exporter does not write (it writes [other-index])`, true},
		{"field not in the documents", Inputs{Dashboards: "fixtures/lint/dashboards-bad-field.ndjson"}, `field "metadata.namespce.keyword" is not in the documents`, true},
		{"missing index pattern", Inputs{Dashboards: "fixtures/dashboards/missing-index-pattern.ndjson"}, "missing-index-pattern.ndjson:1: error: visualization events-over-time uses index pattern eks-events-ip, which is not in the file", true},
		{"malformed ndjson", Inputs{Dashboards: "fixtures/dashboards/malformed.ndjson"}, "malformed.ndjson:2: error:", true},
		{"dashboard id not there", Inputs{Dashboards: "fixtures/dashboards/workshop.ndjson", DashboardID: "nope"}, `no dashboard "nope"`, true},
		{"values without config", Inputs{ExporterConfig: "fixtures/lint/values-without-config.yaml"}, "without a config: block", true},
		{"scenario checks objects it does not create", Inputs{Scenario: "fixtures/lint/scenario-bad"}, "checks.yaml:8:70: error: phases[0].documents[0].namePrefix: scenario-x*: no object of phase broken has this name", true},
		{"missing scenario dir", Inputs{Scenario: "fixtures/lint/none"}, "fixtures/lint/none does not exist", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fs := Run(ctx, tc.in)
			out := lines(fs)
			if tc.want == "" && out != "" {
				t.Fatalf("want no findings, got:\n%s", out)
			}
			if !strings.Contains(out, tc.want) {
				t.Fatalf("findings lack %q:\n%s", tc.want, out)
			}
			if HasErrors(fs) != tc.errors {
				t.Fatalf("HasErrors = %v, want %v:\n%s", HasErrors(fs), tc.errors, out)
			}
		})
	}
}

func TestDocumentFieldsAreWhatTheDashboardReads(t *testing.T) {
	f := DocumentFields()
	for _, field := range []string{"lastTimestamp", "type.keyword", "reason.keyword", "metadata.namespace.keyword", "involvedObject.kind.keyword", "involvedObject.name.keyword", "message", "clusterName.keyword", "count", "involvedObject.deleted", "involvedObject.ownerReferences.kind.keyword"} {
		if !f.has(field) {
			t.Errorf("%s missing", field)
		}
	}
	if f.has("managedFields") || f.has("type.keywrd") {
		t.Error("fields that the exporter never writes")
	}
}

// deDot off lets label keys such as app and app.kubernetes.io/name collide
// in a dynamically mapped index: a warning on the receiver, none with it on.
func TestDeDotOffIsAWarning(t *testing.T) {
	t.Chdir("../..")
	got := lines(Run(context.Background(), Inputs{ExporterConfig: "fixtures/lint/exporter-unused-receiver.yaml"}))
	want := `fixtures/lint/exporter-unused-receiver.yaml:8:7: warning: receiver "opensearch": deDot is off`
	if !strings.Contains(got, want) {
		t.Fatalf("findings lack %q:\n%s", want, got)
	}
	if got := lines(Run(context.Background(), Inputs{ExporterConfig: "fixtures/exporter/config.yaml"})); strings.Contains(got, "deDot") {
		t.Fatalf("deDot on, yet:\n%s", got)
	}
}

// The workshop module as it ships: a values file with the misspelt key and
// placeholders the page fills with --set, and one dashboards export for
// three pipelines. Lint names the key; spelt right and with the page's
// --set lines it is green, and the other pipelines' dashboards are info.
func TestWorkshopModuleAsItShips(t *testing.T) {
	t.Chdir("../..")
	const module = "fixtures/workshop-module"
	values := module + "/config/events-exporter-values.yaml"
	in := Inputs{ExporterConfig: values, Dashboards: module + "/opensearch-dashboards.ndjson", Scenario: "scenarios/events"}
	got := Run(context.Background(), in)
	if !HasErrors(got) || !strings.Contains(lines(got), values+":13:3: error: config.maxEventsAgeSeconds: unknown field (did you mean maxEventAgeSeconds?)") {
		t.Fatalf("as shipped:\n%s", lines(got))
	}

	data, err := os.ReadFile(values)
	if err != nil {
		t.Fatal(err)
	}
	fixed := filepath.Join(t.TempDir(), "values.yaml")
	if err := os.WriteFile(fixed, []byte(strings.Replace(string(data), "maxEventsAgeSeconds: 3600", "maxEventAgeSeconds: 3600", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	in.ExporterConfig = fixed
	if got := lines(Run(context.Background(), in)); !strings.Contains(got, `hosts[0]: "ccc"`) {
		t.Fatalf("without the page's --set, the placeholder host is an error:\n%s", got)
	}
	in.Set = []string{
		"config.receivers[0].opensearch.hosts[0]=https://search-eks.eu-west-1.es.amazonaws.com:443",
		"config.receivers[0].opensearch.username=admin,config.receivers[0].opensearch.password=s3cr3t",
	}
	got = Run(context.Background(), in)
	if HasErrors(got) || strings.Count(lines(got), ": info: ") != 2 || len(got) != 2 {
		t.Fatalf("right content with the page's --set lines: want only the two other pipelines as info:\n%s", lines(got))
	}
	for _, want := range []string{`index pattern "eks-pod-logs*" (3 objects) is not written`, `index pattern "eks-control-plane-logs*" (2 objects) is not written`} {
		if !strings.Contains(lines(got), want) {
			t.Errorf("findings lack %q", want)
		}
	}

	// A --set that cannot be parsed names its key, never its value.
	in.Set = []string{"config.receivers[0].opensearch.password=s3cr3t,w0rd"}
	got = Run(context.Background(), in)
	if !HasErrors(got) || strings.Contains(lines(got), "s3cr3t") || strings.Contains(lines(got), "w0rd") {
		t.Fatalf("a bad --set leaks or passes:\n%s", lines(got))
	}
}

// Content that is wrong is red (or warned about) before it runs: a route
// that drops the scenario's namespace, and a config that writes another
// index than the dashboards read.
func TestWrongContentIsCaught(t *testing.T) {
	t.Chdir("../..")
	base := `config:
  route:
    routes:
      - DROP
        match:
          - receiver: os
  receivers:
    - name: os
      opensearch:
        hosts: ["https://search.example:443"]
        index: INDEX
        deDot: true
`
	write := func(drop, index string) string {
		p := filepath.Join(t.TempDir(), "values.yaml")
		body := strings.NewReplacer("DROP", drop, "INDEX", index).Replace(base)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	dropped := Run(context.Background(), Inputs{ExporterConfig: write("drop: [{namespace: test}]", "eks-kubernetes-events"), Scenario: "scenarios/events"})
	if !strings.Contains(lines(dropped), "warning: the route sends no event of namespace test (the scenario's) to an OpenSearch receiver") {
		t.Errorf("a route that drops the scenario's namespace:\n%s", lines(dropped))
	}
	warnings := Run(context.Background(), Inputs{ExporterConfig: write("drop: [{type: Warning}]", "eks-kubernetes-events"), Scenario: "scenarios/events"})
	if !strings.Contains(lines(warnings), "the route sends no Warning FailedMount event of Pod in namespace test to an OpenSearch receiver: check scenario-a-failed-mount (phase broken) would fail") {
		t.Errorf("a route that drops Warnings:\n%s", lines(warnings))
	}
	other := Run(context.Background(), Inputs{ExporterConfig: write("drop: []", "k8s-events"), Dashboards: "fixtures/workshop-module/opensearch-dashboards.ndjson"})
	if !HasErrors(other) || !strings.Contains(lines(other), `search Events: reads event fields from index pattern "eks-kubernetes-events*", which this exporter does not write (it writes [k8s-events])`) {
		t.Errorf("dashboards reading another index:\n%s", lines(other))
	}
	if clean := Run(context.Background(), Inputs{ExporterConfig: write("drop: []", "eks-kubernetes-events"), Scenario: "scenarios/events"}); len(clean) != 0 {
		t.Errorf("right content: %s", lines(clean))
	}
}

// A finding points at its own field, even when another field's value has
// its name as a prefix (the workload scenario-a after the check
// scenario-a-failed-mount; the receiver os after os-archive).
func TestFindingsPointAtTheirOwnField(t *testing.T) {
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	write("sc/base/kustomization.yaml", "resources: [cm.yaml]\n")
	write("sc/base/cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: scenario-a-config, namespace: test}\n")
	checks := write("sc/checks.yaml", `apiVersion: eventcheck.dev/v1
kind: Checks
namespace: test
phases:
  - name: broken
    apply: base
    documents:
      - {name: scenario-a-failed-mount, type: Warning, namePrefix: scenario-a}
    workloads:
      - {kind: Deployment, name: scenario-a, condition: Available}
`)
	values := write("values.yaml", `route: {routes: [{match: [{receiver: os-archive}]}]}
receivers:
  - name: os-archive
    opensearch: {hosts: ["https://a.example:443"], index: archive, deDot: true}
  - name: os
    opensearch: {hosts: ["https://b.example:443"], index: events, deDot: true}
`)
	got := lines(Run(context.Background(), Inputs{Scenario: filepath.Join(dir, "sc"), ExporterConfig: values}))
	for _, want := range []string{
		checks + ":10:34: error: phases[0].workloads[0].name: Deployment scenario-a is not created by base (phase broken)",
		values + ":5:11: warning: receiver \"os\" is not used by any route",
	} {
		if !strings.Contains(got, want) {
			t.Errorf("findings lack %q:\n%s", want, got)
		}
	}
}

// A workshop module ships its kustomizations and no checks.yaml (its page
// tells the story): lint renders what is there instead of refusing, and a
// kustomization that does not render is an error at its file.
func TestScenarioWithoutChecksLintsItsKustomizations(t *testing.T) {
	ctx := context.Background()
	fs := Run(ctx, Inputs{Scenario: "../../fixtures/workshop-module/scenarios/events"})
	if HasErrors(fs) || len(fs) != 1 || fs[0].Severity != Info || !strings.Contains(fs[0].Message, "rendered 2 kustomization(s)") {
		t.Fatalf("the workshop module's scenarios:\n%s", lines(fs))
	}
	dir := t.TempDir()
	bad := filepath.Join(dir, "base")
	if err := os.MkdirAll(bad, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bad, "kustomization.yaml"), []byte("resources: [missing.yaml]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fs = Run(ctx, Inputs{Scenario: dir})
	if !HasErrors(fs) || !slices.ContainsFunc(fs, func(f Finding) bool {
		return f.Severity == Error && f.File == filepath.Join(bad, "kustomization.yaml") && strings.Contains(f.Message, "missing.yaml")
	}) {
		t.Fatalf("a kustomization that does not render:\n%s", lines(fs))
	}
}

// lint --page checks a workshop page offline: green but for what is wrong
// in the module as it ships (the values' misspelt key, the unpinned
// chart), and each kind of mistake a page can make, at its line.
func TestPageLint(t *testing.T) {
	ctx := context.Background()
	const repo = "../../fixtures/workshop-repo/"
	page := repo + "website/docs/observability/opensearch/kubernetes-events.md"
	fs := Run(ctx, Inputs{Pages: []string{page, repo + "website/i18n/ja/docusaurus-plugin-content-docs/current/observability/opensearch/kubernetes-events.md"}, Manifests: repo + "manifests"})
	got := lines(fs)
	for _, want := range []string{"events-exporter-values.yaml:13: error: config.maxEventsAgeSeconds: unknown field", "kubernetes-events.md:15: warning: helm install", "no --version"} {
		if !strings.Contains(got, want) {
			t.Errorf("the fixture page: findings lack %q:\n%s", want, got)
		}
	}
	if len(fs) != 2 {
		t.Errorf("the fixture page and its translation: want exactly the two findings:\n%s", got)
	}
	src, err := os.ReadFile(page)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct{ from, to, want string }{
		"set key typo":      {"opensearch.username", "opensearch.usernme", `--set config.receivers[0].opensearch.usernme: `},
		"unknown dashboard": {"#/view/kubernetes-events", "#/view/no-such-dashboard", `dashboard "no-such-dashboard"`},
		"wrong namespace":   {"kubectl get pods -n opensearch-exporter", "kubectl get pods -n default", "is shown in namespace default; the page installs the release in opensearch-exporter"},
		"missing apply":     {"scenarios/events/base", "scenarios/events/nowhere", "nowhere"},
	} {
		t.Run(name, func(t *testing.T) {
			edited := filepath.Join(t.TempDir(), "website", "docs", "kubernetes-events.md")
			if err := os.MkdirAll(filepath.Dir(edited), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(edited, []byte(strings.Replace(string(src), c.from, c.to, 1)), 0o644); err != nil {
				t.Fatal(err)
			}
			got := lines(Run(ctx, Inputs{Pages: []string{edited}, Manifests: repo + "manifests"}))
			if !strings.Contains(got, c.want) || !strings.Contains(got, edited+":") {
				t.Fatalf("findings lack %q at the page:\n%s", c.want, got)
			}
		})
	}
}
