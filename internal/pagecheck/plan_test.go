package pagecheck

import (
	"strings"
	"testing"

	"github.com/eventcheck/eventcheck/internal/check"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/page"
	"github.com/eventcheck/eventcheck/internal/report"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

const repo = "../../fixtures/workshop-repo/"

var (
	original    = repo + "website/docs/observability/opensearch/kubernetes-events.md"
	translation = repo + "website/i18n/ja/docusaurus-plugin-content-docs/current/observability/opensearch/kubernetes-events.md"
	manifests   = repo + "manifests"
)

// The page's story becomes a plan no one wrote: its applies are the
// phases, its event claims document checks, its tip a rise, its link the
// dashboard; the translation adds no difference.
func TestThePageIsThePlan(t *testing.T) {
	d, err := Load([]string{translation, original}, manifests, "")
	if err != nil {
		t.Fatal(err)
	}
	if d.Story.Lang != "" || len(d.Translations) != 1 || len(d.Differences) != 0 {
		t.Fatalf("original %q, %d translations, differences %+v", d.Story.Lang, len(d.Translations), d.Differences)
	}
	s, err := d.Scenario(t.TempDir())
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Checks)
	}
	c := s.Checks
	if c.Namespace != "test" || len(c.Phases) != 2 || c.Phases[0].Apply != "modules/observability/opensearch/scenarios/events/base" || c.Phases[1].Name != "fix" {
		t.Fatalf("phases %+v\n%s", c.Phases, d.Checks)
	}
	want := map[string]bool{"FailedMount": false, "Failed": false, "FailedScheduling": false, "BackOff": false}
	for _, doc := range c.Phases[0].Documents {
		if _, ok := want[doc.Reason]; ok {
			want[doc.Reason] = true
		}
	}
	for reason, found := range want {
		if !found {
			t.Errorf("no document check for %s:\n%s", reason, d.Checks)
		}
	}
	if len(c.Phases[0].Record) == 0 || len(c.Phases[1].Rises) == 0 {
		t.Errorf("the tip's rise is not planned:\n%s", d.Checks)
	}
	if c.Dashboard == nil || c.Dashboard.ID != "kubernetes-events" || c.Dashboard.After != "base" {
		t.Errorf("dashboard %+v", c.Dashboard)
	}
	if len(d.Unknown) != 1 || !strings.Contains(d.Unknown[0].Path, "maxEventsAgeSeconds") {
		t.Errorf("the values' unknown key is not found: %+v", d.Unknown)
	}
	for _, cl := range d.Story.Claims {
		if cl.Kind == "event-row" && cl.Skip == "" && d.Steps[cl.Key] == "" {
			t.Errorf("claim %s (line %d) has no step", cl.Key, cl.Line)
		}
	}
	var _ scenario.Kind
}

// A drifted claim is shown against the closest message of its event's
// documents, whichever came first.
func TestDriftIsShownAgainstTheClosestMessage(t *testing.T) {
	d := &Derived{Steps: map[string]string{"k": "s"}}
	c := page.Claim{Key: "k", Phase: "base", Expect: page.ProseEvent{Workload: "scenario-b", Reason: "Failed",
		Message: `Failed to pull image "wrong-image": rpc error: code = Unknown desc = failed to pull and unpack image`}}
	res := check.Result{Name: "s", Phase: "base", Passed: true}
	for _, m := range []string{"Error: ErrImagePull",
		`Failed to pull image "wrong-image": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/wrong-image:latest"`} {
		res.Matched = append(res.Matched, eventindex.Doc{Event: eventindex.Event{Message: m}})
	}
	verdict, run := d.verdict(c, map[string]check.Result{"s": res}, map[string]bool{"base": true})
	if verdict != report.Drifted || !strings.Contains(run, "[-Unknown-] {+NotFound+}") {
		t.Fatalf("%s: %s", verdict, run)
	}
}
