package scenario

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck"
)

func TestPlanOrdersTheBuiltInScenario(t *testing.T) {
	s, err := LoadFS(eventcheck.Content, eventcheck.DefaultScenario)
	if err != nil {
		t.Fatal(err)
	}
	plan := s.Plan()
	var got []string
	for _, p := range plan {
		got = append(got, p.Name+": "+p.Apply.Name)
		for _, st := range p.Checks {
			got = append(got, p.Name+": "+st.Name)
		}
	}
	want := []string{
		"broken: apply base",
		"broken: documents",
		"broken: record normal-before-fix",
		"broken: failed-mount-count-follows",
		"broken: pod-labels-are-their-own",
		"broken: deployment-labels-are-their-own",
		"broken: every event accounted for",
		"broken: dashboard " + s.Dashboard.Title,
		"fixed: apply fix",
		"fixed: documents",
		"fixed: normal-count-rises",
		"fixed: Deployment scenario-a Available",
		"fixed: Deployment scenario-b Available",
		"fixed: Deployment scenario-c Available",
		"fixed: every event accounted for",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("plan:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// The three Warning checks are one stage: they run together.
	if docs := plan[0].Checks[0].Steps; len(docs) != 3 || docs[2].Name != "scenario-c-failed-scheduling" {
		t.Fatalf("broken documents stage: %+v", docs)
	}
}

func fixed(res Result, wait <-chan struct{}) Step {
	return one(res.Name, func(ctx context.Context, _ *Runner) Result {
		if wait != nil {
			select {
			case <-wait:
			case <-ctx.Done():
				return Result{Phase: res.Phase, Name: res.Name, Detail: "not concurrent"}
			}
		}
		return res
	})
}

func TestExecuteRunsAStageTogetherAndKeepsPlanOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := &Runner{}
	// The first step finishes only after the second has started: run one
	// after the other, the stage would not finish before the deadline.
	second := make(chan struct{})
	stage := Stage{Phase: "broken", Name: "documents", Steps: []Step{
		fixed(Result{Phase: "broken", Name: "a", Passed: true}, second),
		one("b", func(context.Context, *Runner) Result {
			close(second)
			return Result{Phase: "broken", Name: "b", Passed: true}
		}),
	}}
	res := r.Execute(ctx, stage)
	if len(res) != 2 || res[0].Name != "a" || res[1].Name != "b" || !Passed(res) {
		t.Fatalf("results %+v", res)
	}
	if got := r.Results(); len(got) != 2 {
		t.Fatalf("kept %+v", got)
	}
}

func TestAFailedPhaseBlocksTheNext(t *testing.T) {
	r := &Runner{}
	ctx := context.Background()
	r.Execute(ctx, Stage{Phase: "broken", Steps: []Step{fixed(Result{Phase: "broken", Name: "a", Kind: "document"}, nil)}})
	if err := r.Blocked("broken"); err != nil {
		t.Fatalf("a phase's own failure must not block its other stages: %v", err)
	}
	err := r.Blocked("fixed")
	if err == nil || !strings.Contains(err.Error(), "phase broken failed (document a)") {
		t.Fatalf("Blocked(fixed) = %v", err)
	}
}
