package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
)

const workshopRepo = "../../fixtures/workshop-repo/"

var (
	eventsPage = workshopRepo + "website/docs/observability/opensearch/kubernetes-events.md"
	eventsJa   = workshopRepo + "website/i18n/ja/docusaurus-plugin-content-docs/current/observability/opensearch/kubernetes-events.md"
)

// --plan prints the checks the page makes, and runs nothing.
func TestPagePlanIsChecksYAML(t *testing.T) {
	code, out := eventcheck(t, context.Background(), "page", "--plan", eventsPage, "--manifests", workshopRepo+"manifests")
	for _, want := range []string{"kind: Checks", "namespace: test", "apply: modules/observability/opensearch/scenarios/events/base",
		"reason: FailedMount", "reason: FailedScheduling", "above: normal-before-fix", "id: kubernetes-events"} {
		if !strings.Contains(out, want) {
			t.Errorf("plan lacks %q", want)
		}
	}
	if code != 0 || t.Failed() {
		t.Fatalf("exit %d\n%s", code, out)
	}
	if code, out := eventcheck(t, context.Background(), "page", eventsPage); code != exitcode.Usage || !strings.Contains(out, "--manifests is required") {
		t.Fatalf("no --manifests: exit %d\n%s", code, out)
	}
}

// The workshop page is the test: green on the module as it should be,
// with the runtime's newer wording drifted (a warning), and the same
// verdicts from its translation; red, at the page's line, when it quotes
// an event the story never emits.
func TestThePageIsTheTest(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the story on a local environment")
	}
	ctx := context.Background()
	dir := t.TempDir()
	report := filepath.Join(dir, "report.json")
	bin, _ := filepath.Abs("../../bin/localcluster")
	code, out := eventcheck(t, ctx, "page", eventsPage, eventsJa, "--manifests", workshopRepo+"manifests",
		"--cluster", "local", "--localcluster-bin", bin, "--json", report)
	if code != 0 || !strings.Contains(out, "drifted") || !strings.Contains(out, "code = [-Unknown-] {+NotFound+}") {
		t.Fatalf("the fixture page: exit %d, want 0 with the pull message drifted\n%s", code, out)
	}
	var rep struct {
		Claims []struct {
			File, Kind, Verdict, Page, Run string
			Line                           int
		} `json:"claims"`
	}
	data, err := os.ReadFile(report)
	if err != nil || json.Unmarshal(data, &rep) != nil || len(rep.Claims) == 0 {
		t.Fatalf("report's claims: %v\n%s", err, data)
	}
	verdicts := map[string]int{}
	for _, c := range rep.Claims {
		verdicts[c.Verdict]++
		verdicts[c.Kind+" "+c.Verdict]++
		if c.Line == 0 || c.File == "" || c.Page == "" {
			t.Errorf("claim without its place or text: %+v", c)
		}
	}
	// Both applies' output lines (created, then unchanged and configured)
	// are what the applies did.
	// The scenarios' pod rows are what their pods showed; the exporter's
	// is skipped (it runs as a process here); the last event's JSON
	// has the fields its document has.
	if verdicts["failed"] != 0 || verdicts["holds"] < 22 || verdicts["drifted"] < 1 || verdicts["apply-output holds"] != 10 ||
		verdicts["pod-row holds"] != 3 || verdicts["pod-row skipped"] != 1 || verdicts["event-json holds"] != 1 {
		t.Fatalf("verdicts %v\n%s", verdicts, out)
	}
	code, out = eventcheck(t, ctx, "page", eventsPage, "--manifests", workshopRepo+"manifests", "--strict",
		"--cluster", "local", "--localcluster-bin", bin)
	if code != exitcode.CheckFailed {
		t.Fatalf("--strict with drifted claims: exit %d, want 1\n%s", code, out)
	}
	broken := brokenPage(t)
	code, out = eventcheck(t, ctx, "page", broken, "--manifests", workshopRepo+"manifests", "--cluster", "local", "--localcluster-bin", bin)
	if code != exitcode.CheckFailed || !strings.Contains(out, broken+":19") || !strings.Contains(out, "failed") {
		t.Fatalf("a page quoting an event that never comes: exit %d, want 1 naming %s:19\n%s", code, broken, out)
	}
}

// brokenPage is the page package's broken fixture with a short timeout on
// its apply, laid out as a workshop repository's page.
func brokenPage(t *testing.T) string {
	src, err := os.ReadFile("../page/testdata/broken/website/docs/observability/opensearch/kubernetes-events.md")
	if err != nil {
		t.Fatal(err)
	}
	page := filepath.Join(t.TempDir(), "website", "docs", "observability", "opensearch", "kubernetes-events.md")
	if err := os.MkdirAll(filepath.Dir(page), 0o755); err != nil {
		t.Fatal(err)
	}
	text := strings.Replace(string(src), "```bash\n", "```bash timeout=20\n", 1)
	if err := os.WriteFile(page, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return page
}
