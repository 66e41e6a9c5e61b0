package check

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/eventcheck/eventcheck"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

func TestPlanOrdersTheBuiltInScenario(t *testing.T) {
	s, err := scenario.LoadFS(eventcheck.Content, eventcheck.DefaultScenario)
	if err != nil {
		t.Fatal(err)
	}
	plan := s.Plan()
	var got []string
	for _, p := range plan {
		got = append(got, p.Name+": "+p.Apply.Name)
		for _, st := range p.Checks {
			var steps []string
			for _, c := range st.Steps {
				steps = append(steps, string(c.CheckKind())+" "+c.StepName())
			}
			got = append(got, p.Name+": "+st.Name+" ["+strings.Join(steps, ", ")+"]")
		}
	}
	want := []string{
		"broken: apply base",
		"broken: checks [document scenario-a-failed-mount, document scenario-b-image-pull, document scenario-c-failed-scheduling, " +
			"updates failed-mount-count-follows, enrichment pod-labels-are-their-own, enrichment deployment-labels-are-their-own]",
		"broken: record [record normal-before-fix]",
		"broken: every event accounted for [completeness every event accounted for]",
		"broken: dashboard " + s.Dashboard.Title + " [panel " + s.Dashboard.Title + "]",
		"fixed: apply fix",
		"fixed: checks [document scenario-a-scheduled, document scenario-a-started, document scenario-b-scheduled, document scenario-b-started, " +
			"document scenario-c-scheduled, document scenario-c-started, rise normal-count-rises, workload Deployment/scenario-a Available, " +
			"workload Deployment/scenario-b Available, workload Deployment/scenario-c Available]",
		"fixed: every event accounted for [completeness every event accounted for]",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := plan[1].Limit(); got != 120*time.Second {
		t.Fatalf("fixed phase's longest deadline %s, want the workloads' 120s", got)
	}
}

// step is a check of a made-up kind whose evaluation the test supplies.
type step struct {
	name  string
	limit time.Duration
}

const testKind scenario.Kind = "test"

func (step) CheckKind() scenario.Kind { return testKind }
func (s step) StepName() string       { return s.name }
func (s step) Limit() time.Duration   { return s.limit }

// withKind installs an evaluation for testKind for one test.
func withKind(t *testing.T, eval func(ctx context.Context, r *Runner, phase string, s step) Result) {
	kinds[testKind] = one(eval)
	t.Cleanup(func() { delete(kinds, testKind) })
}

func TestExecuteRunsAStageTogetherAndKeepsPlanOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := &Runner{progress: func(Result, bool) {}, applied: map[string]time.Time{}}
	// a finishes only after b has started: run one after the other, the
	// stage would not finish before the deadline.
	second := make(chan struct{})
	withKind(t, func(ctx context.Context, _ *Runner, _ string, s step) Result {
		if s.name == "b" {
			close(second)
			return Result{Passed: true}
		}
		select {
		case <-second:
			return Result{Passed: true}
		case <-ctx.Done():
			return Result{Detail: "not concurrent"}
		}
	})
	res := r.Execute(ctx, scenario.Stage{Phase: "broken", Steps: []scenario.Check{step{name: "a"}, step{name: "b"}}})
	if len(res) != 2 || res[0].Name != "a" || res[1].Name != "b" || !Passed(res) || res[0].Kind != testKind || res[0].Phase != "broken" {
		t.Fatalf("results %+v", res)
	}
	if got := r.Results(); len(got) != 2 {
		t.Fatalf("kept %+v", got)
	}
}

// A red phase ends within its longest deadline (plus a last look), not
// the sum of its checks' deadlines: each waits on its own, counted from
// the apply, and a later stage that starts past its deadline looks once.
func TestARedPhaseEndsWithinItsLongestDeadline(t *testing.T) {
	ctx := context.Background()
	r := &Runner{progress: func(Result, bool) {}, applied: map[string]time.Time{"broken": time.Now()}}
	looks := map[string]int{}
	withKind(t, func(ctx context.Context, r *Runner, phase string, s step) Result {
		n := 0
		_, err := until(ctx, r.deadline(phase, s.limit), func(context.Context) (bool, error) { n++; return false, nil })
		r.mu.Lock()
		looks[s.name] = n
		r.mu.Unlock()
		return Result{Detail: err.Error()}
	})
	start := time.Now()
	r.Execute(ctx, scenario.Stage{Phase: "broken", Steps: []scenario.Check{step{"a", 3 * time.Second}, step{"b", 3 * time.Second}, step{"c", 2 * time.Second}}})
	r.Execute(ctx, scenario.Stage{Phase: "broken", Steps: []scenario.Check{step{"accounting", 3 * time.Second}}})
	took := time.Since(start)
	if took > 3*time.Second+lastLook+time.Second {
		t.Fatalf("the phase took %s: its checks waited one after another", took)
	}
	if looks["accounting"] < 1 {
		t.Fatalf("a check started past its deadline must still look once: %v", looks)
	}
	if res := r.Results(); len(res) != 4 || slices.ContainsFunc(res, func(x Result) bool { return x.Passed }) {
		t.Fatalf("results %+v", r.Results())
	}
}

func TestAFailedPhaseBlocksTheNext(t *testing.T) {
	r := &Runner{progress: func(Result, bool) {}}
	withKind(t, func(context.Context, *Runner, string, step) Result { return Result{} })
	r.Execute(context.Background(), scenario.Stage{Phase: "broken", Steps: []scenario.Check{step{name: "a"}}})
	if err := r.Blocked("broken"); err != nil {
		t.Fatalf("a phase's own failure must not block its other stages: %v", err)
	}
	err := r.Blocked("fixed")
	if err == nil || !strings.Contains(err.Error(), "phase broken failed (test a)") {
		t.Fatalf("Blocked(fixed) = %v", err)
	}
}

// Every kind a plan can hold has its evaluation.
func TestEveryPlannedKindHasAnEvaluation(t *testing.T) {
	s, err := scenario.LoadFS(eventcheck.Content, eventcheck.DefaultScenario)
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range s.Plan() {
		for _, st := range append([]scenario.Stage{p.Apply}, p.Checks...) {
			for _, c := range st.Steps {
				if _, ok := kinds[c.CheckKind()]; !ok {
					t.Errorf("kind %s (%s) has no evaluation", c.CheckKind(), c.StepName())
				}
			}
		}
	}
}

// A workload's condition counts only for the generation the phase applied:
// right after an apply, the status still speaks of the spec before it.
func TestWorkloadConditionWaitsForTheAppliedGeneration(t *testing.T) {
	o := &unstructured.Unstructured{Object: map[string]any{
		"metadata": map[string]any{"generation": int64(2)},
		"status": map[string]any{"observedGeneration": int64(1),
			"conditions": []any{map[string]any{"type": "Available", "status": "True"}}},
	}}
	if ok, state := hasCondition(o, "Available"); ok || !strings.Contains(state, "not yet observed") {
		t.Fatalf("stale status counted: %v %q", ok, state)
	}
	_ = unstructured.SetNestedField(o.Object, int64(2), "status", "observedGeneration")
	if ok, state := hasCondition(o, "Available"); !ok {
		t.Fatalf("observed Available=True not counted: %q", state)
	}
}
