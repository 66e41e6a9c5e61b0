package lint

import (
	"context"
	"flag"
	"os"
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
			`exporter-unused-receiver.yaml:10: warning: receiver "forgotten" is not used by any route`, true},
		{"index mismatch", Inputs{ExporterConfig: "fixtures/lint/exporter-unused-receiver.yaml", Dashboards: "fixtures/dashboards/workshop.ndjson"},
			`index pattern "eks-kubernetes-events*" matches none of the exporter's indices [other-index]`, true},
		{"field not in the documents", Inputs{Dashboards: "fixtures/lint/dashboards-bad-field.ndjson"}, `field "metadata.namespce.keyword" is not in the documents`, true},
		{"missing index pattern", Inputs{Dashboards: "fixtures/dashboards/missing-index-pattern.ndjson"}, "missing-index-pattern.ndjson:1: error: visualization events-over-time uses index pattern eks-events-ip, which is not in the file", true},
		{"malformed ndjson", Inputs{Dashboards: "fixtures/dashboards/malformed.ndjson"}, "malformed.ndjson:2: error:", true},
		{"dashboard id not there", Inputs{Dashboards: "fixtures/dashboards/workshop.ndjson", DashboardID: "nope"}, `no dashboard "nope"`, true},
		{"values without config", Inputs{ExporterConfig: "fixtures/lint/values-without-config.yaml"}, "without a config: block", true},
		{"scenario checks objects it does not create", Inputs{Scenario: "fixtures/lint/scenario-bad"}, "checks.yaml:8: error: phase broken: check typo looks for objects named scenario-x*", true},
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
	want := `fixtures/lint/exporter-unused-receiver.yaml:6: warning: receiver "opensearch": deDot is off`
	if !strings.Contains(got, want) {
		t.Fatalf("findings lack %q:\n%s", want, got)
	}
	if got := lines(Run(context.Background(), Inputs{ExporterConfig: "fixtures/exporter/config.yaml"})); strings.Contains(got, "deDot") {
		t.Fatalf("deDot on, yet:\n%s", got)
	}
}
