package check

import (
	"context"
	"fmt"
	"time"

	"github.com/eventcheck/eventcheck/internal/scenario"
)

// apply applies a phase's kustomization (server-side); its start is when
// the phase's deadlines begin. A phase that expects an error holds when
// the API refuses the apply, and fails when it takes it.
func apply(ctx context.Context, r *Runner, phase string, a scenario.Apply) Result {
	start := time.Now()
	objs := r.s.Objects[phase]
	applied, err := r.applier.ApplyAll(ctx, objs)
	switch {
	case err != nil && !a.ExpectError:
		return Result{Detail: err.Error(), Applied: applied}
	case err == nil && a.ExpectError:
		return Result{Detail: fmt.Sprintf("%d objects applied, where the apply is expected to fail (expectError)", len(objs)), Applied: applied}
	}
	r.mu.Lock()
	r.applied[phase] = start
	r.mu.Unlock()
	detail := fmt.Sprintf("%d objects", len(objs))
	if err != nil {
		detail = "refused, as expected: " + err.Error()
	}
	return Result{Passed: true, Elapsed: time.Since(start), Detail: detail, Applied: applied}
}
