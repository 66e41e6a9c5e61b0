package check

import (
	"context"
	"fmt"

	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// count is the documents of a type (and name prefix) in the scenario's
// namespace since the run began: the window the dashboard's panels read,
// so a reused index's older documents count in neither.
func (r *Runner) count(ctx context.Context, typ, prefix string) (int64, error) {
	m := eventindex.Match{Type: typ, NamePrefix: prefix, Namespace: r.s.Checks.Namespace, Since: r.Window()}
	return r.env.Search.Count(ctx, m.Query())
}

// record counts documents for a later rise.
func record(ctx context.Context, r *Runner, _ string, c scenario.Count) Result {
	n, err := r.count(ctx, c.Type, c.NamePrefix)
	if err != nil {
		return Result{Detail: err.Error()}
	}
	r.mu.Lock()
	r.recorded[c.Name] = n
	r.mu.Unlock()
	return Result{Passed: true, Detail: fmt.Sprintf("%d %s documents", n, c.Type)}
}

// rise waits for a count to go strictly above a recorded one.
func rise(ctx context.Context, r *Runner, phase string, c scenario.Rise) Result {
	r.mu.Lock()
	before := r.recorded[c.Above]
	r.mu.Unlock()
	var n int64
	held, err := until(ctx, r.deadline(phase, c.Timeout), func(ctx context.Context) (bool, error) {
		if got, err := r.count(ctx, c.Type, c.NamePrefix); err == nil {
			n = got
		}
		return n > before, nil
	})
	if err == nil {
		return Result{Passed: true, Elapsed: held.Sub(r.appliedAt(phase)), Detail: fmt.Sprintf("%s documents %d → %d", c.Type, before, n)}
	}
	return Result{Detail: fmt.Sprintf("%s documents still %d (recorded %d as %s) after %s", c.Type, n, before, c.Above, c.Timeout)}
}
