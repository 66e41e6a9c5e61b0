package check

import (
	"context"
	"fmt"
	"time"

	"github.com/eventcheck/eventcheck/internal/scenario"
)

// apply applies a phase's kustomization (server-side); its start is when
// the phase's deadlines begin.
func apply(ctx context.Context, r *Runner, phase string, _ scenario.Apply) Result {
	start := time.Now()
	objs := r.s.Objects[phase]
	applied, err := r.applier.ApplyAll(ctx, objs)
	if err != nil {
		return Result{Detail: err.Error(), Applied: applied}
	}
	r.mu.Lock()
	r.applied[phase] = start
	r.mu.Unlock()
	return Result{Passed: true, Elapsed: time.Since(start), Detail: fmt.Sprintf("%d objects", len(objs)), Applied: applied}
}
