package pagecheck

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/eventcheck/eventcheck/internal/check"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/page"
	"github.com/eventcheck/eventcheck/internal/report"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// judgeOne gives one claim, judged by step s, its verdict.
func judgeOne(t *testing.T, e page.Expectation, results ...check.Result) report.Claim {
	t.Helper()
	d := &Derived{Story: &page.Story{Claims: []page.Claim{{Key: "k", Phase: "base", Expect: e}}}, Steps: map[string]string{"k": "s"}}
	got := d.Judge(results)
	if len(got) != 1 {
		t.Fatalf("claims %+v", got)
	}
	return got[0]
}

func TestPodRowVerdicts(t *testing.T) {
	row := page.PodRow{Namespace: "test", NamePrefix: "scenario-b", Ready: "0/1", Status: "ErrImagePull"}
	for _, tt := range []struct {
		name    string
		res     check.Result
		verdict string
		run     string
	}{
		{"shown", check.Result{Name: "s", Phase: "base", Passed: true, Seen: []string{"0/1 ContainerCreating", "0/1 ErrImagePull"}}, report.Holds, "scenario-b pod: 0/1 ErrImagePull"},
		{"others only", check.Result{Name: "s", Phase: "base", Passed: true, Seen: []string{"0/1 ImagePullBackOff"}}, report.Drifted, "showed 0/1 ImagePullBackOff, never 0/1 ErrImagePull"},
		{"no pod", check.Result{Name: "s", Phase: "base", Detail: "no pod of scenario-b in namespace test after 2m0s"}, report.Failed, "no pod of scenario-b"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := judgeOne(t, row, tt.res)
			if c.Verdict != tt.verdict || !strings.Contains(c.Run, tt.run) {
				t.Errorf("%s: %s, want %s: …%s…", c.Verdict, c.Run, tt.verdict, tt.run)
			}
		})
	}
}

// A JSON sample holds when the event's document has every field it shows
// with the same kind of value; a field missing or of another kind is
// drift, named. kubectl's own apiVersion and kind are not the event's.
func TestEventJSONVerdicts(t *testing.T) {
	sample := map[string]any{"apiVersion": "v1", "kind": "Event", "count": 1.0, "eventTime": nil, "message": "Scaled down replica set scenario-c-5f8b7d9c4b from 1 to 0",
		"reason": "ScalingReplicaSet", "involvedObject": map[string]any{"kind": "Deployment", "name": "scenario-c"}, "source": map[string]any{"component": "deployment-controller"}}
	e := page.EventDocument{Fields: page.Fields(sample), Kubectl: true, Reason: "ScalingReplicaSet", Message: sample["message"].(string)}
	doc := func(source map[string]any) check.Result {
		b, err := json.Marshal(source)
		if err != nil {
			t.Fatal(err)
		}
		return check.Result{Name: "s", Phase: "base", Passed: true, Matched: []eventindex.Doc{{Event: eventindex.Event{Message: "Scaled down replica set scenario-c-677c6f6c85 from 1 to 0"}, Source: b}}}
	}
	same := map[string]any{"count": 1, "eventTime": "2025-03-04T10:21:07.000000Z", "message": "m", "reason": "r",
		"involvedObject": map[string]any{"kind": "Deployment", "name": "scenario-c", "labels": map[string]any{}}, "source": map[string]any{"component": "deployment-controller"}}
	if c := judgeOne(t, e, doc(same)); c.Verdict != report.Holds {
		t.Errorf("the same fields: %s: %s", c.Verdict, c.Run)
	}
	other := map[string]any{"count": "1", "message": "m", "reason": "r", "involvedObject": map[string]any{"kind": "Deployment", "name": "scenario-c"}}
	c := judgeOne(t, e, doc(other))
	if c.Verdict != report.Drifted || !strings.Contains(c.Run, "no eventTime, source, source.component") || !strings.Contains(c.Run, "count is a string where the page shows a number") {
		t.Errorf("other fields: %s: %s", c.Verdict, c.Run)
	}
	e.Kubectl = false
	if c := judgeOne(t, e, doc(same)); c.Verdict != report.Drifted || !strings.Contains(c.Run, "no apiVersion, kind") {
		t.Errorf("an OpenSearch sample's apiVersion and kind are the document's: %s: %s", c.Verdict, c.Run)
	}
}

func TestExpectedErrorVerdicts(t *testing.T) {
	apply := func(passed bool, detail string) check.Result {
		return check.Result{Name: "modules/m/bad", Phase: "bad", Kind: scenario.KindApply, Passed: passed, Detail: detail}
	}
	e := page.ExpectedError{Command: "kubectl apply -k bad", Phase: "bad"}
	if c := judgeOne(t, e, apply(true, "refused, as expected: denied")); c.Verdict != report.Holds {
		t.Errorf("refused: %+v", c)
	}
	if c := judgeOne(t, e, apply(false, "3 objects applied, where the apply is expected to fail (expectError)")); c.Verdict != report.Failed {
		t.Errorf("taken: %+v", c)
	}
	if c := judgeOne(t, page.ExpectedError{Refused: "missing kustomization.yaml"}); c.Verdict != report.Holds || !strings.Contains(c.Run, "kustomize cannot render it") {
		t.Errorf("not rendered: %+v", c)
	}
	if c := judgeOne(t, e); c.Verdict != report.Skipped {
		t.Errorf("not run: %+v", c)
	}
}

// Where the run's exporter is not the page's chart, the release's pod rows
// are skipped, with why, and no step looks for them.
func TestRunsExporterSkipsTheReleasesPodsElsewhere(t *testing.T) {
	d, err := Load([]string{original}, manifests, "")
	if err != nil {
		t.Fatal(err)
	}
	release := func() *page.Claim {
		for i, c := range d.Story.Claims {
			if row, ok := c.Expect.(page.PodRow); ok && row.Namespace == "opensearch-exporter" {
				return &d.Story.Claims[i]
			}
		}
		t.Fatal("the fixture page shows no exporter pod row")
		return nil
	}
	if c := release(); c.Skip != "" || d.Steps[c.Key] == "" {
		t.Fatalf("before: %+v, step %q", c, d.Steps[c.Key])
	}
	d.RunsExporter("builtin")
	c := release()
	if !strings.Contains(c.Skip, "--exporter builtin") || d.Steps[c.Key] != "" {
		t.Fatalf("after: skip %q, step %q", c.Skip, d.Steps[c.Key])
	}
	s, err := d.Scenario(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, pc := range s.Checks.Phases[0].Pods {
		if pc.Namespace == "opensearch-exporter" {
			t.Errorf("a step still looks for the release's pods: %+v", pc)
		}
	}
	if len(s.Checks.Phases[0].Pods) != 3 {
		t.Errorf("pod steps %+v, want the three scenarios'", s.Checks.Phases[0].Pods)
	}
}
