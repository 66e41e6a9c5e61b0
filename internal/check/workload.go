package check

import (
	"context"
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/eventcheck/eventcheck/internal/scenario"
)

// workload waits for a workload of the phase to reach its condition.
func workload(ctx context.Context, r *Runner, phase string, w scenario.Workload) Result {
	var obj *unstructured.Unstructured
	for _, o := range r.s.Objects[phase] {
		if o.GetKind() == w.Kind && o.GetName() == w.Name {
			obj = o
		}
	}
	if obj == nil {
		return Result{Detail: fmt.Sprintf("phase %s does not create %s %s", phase, w.Kind, w.Name)}
	}
	var state string
	held, err := until(ctx, r.deadline(phase, w.Timeout), func(ctx context.Context) (bool, error) {
		live, err := r.applier.Get(ctx, obj)
		if err != nil {
			if ctx.Err() == nil {
				state = err.Error()
			}
			return false, nil
		}
		var ok bool
		ok, state = hasCondition(live, w.Condition)
		return ok, nil
	})
	if err == nil {
		return Result{Passed: true, Elapsed: held.Sub(r.appliedAt(phase)), Detail: state}
	}
	return Result{Detail: fmt.Sprintf("not %s after %s: %s", w.Condition, w.Timeout, state)}
}

func hasCondition(o *unstructured.Unstructured, cond string) (bool, string) {
	// Right after an apply the status is the old spec's: a condition
	// counts only once the controller has seen the applied generation.
	if observed, found, _ := unstructured.NestedInt64(o.Object, "status", "observedGeneration"); found && observed < o.GetGeneration() {
		return false, fmt.Sprintf("generation %d not yet observed (status is of %d)", o.GetGeneration(), observed)
	}
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	var seen []string
	for _, c := range conds {
		m, _ := c.(map[string]any)
		t, _ := m["type"].(string)
		s, _ := m["status"].(string)
		msg, _ := m["message"].(string)
		seen = append(seen, fmt.Sprintf("%s=%s (%s)", t, s, msg))
		if t == cond && s == "True" {
			return true, fmt.Sprintf("%s=True", t)
		}
	}
	if len(seen) == 0 {
		return false, "no conditions yet"
	}
	return false, strings.Join(seen, "; ")
}
