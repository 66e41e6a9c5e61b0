package check

import (
	"context"
	"slices"
	"time"

	"github.com/eventcheck/eventcheck/internal/dashboard"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// dashboardLook bounds how long the panels are looked at again for
// documents that become searchable on the next refresh.
const dashboardLook = 10 * time.Second

// panels checks each panel of the scenario's dashboard over the time since
// its phase was applied. Unsupported panels are reported as skipped
// (passed, with a note), never left out.
func panels(ctx context.Context, r *Runner, phase string, d scenario.DashboardStep) []Result {
	story := dashboard.Story{Namespace: r.s.Checks.Namespace, Since: r.appliedAt(phase).Add(-time.Second), Until: time.Now().Add(time.Minute),
		WarningsAtLeast: d.WarningsAtLeast, Types: d.Types, Interval: d.Interval, Rows: d.Rows}
	if d.Rows == nil {
		for _, p := range r.s.Checks.Phases {
			if p.Name != phase {
				continue
			}
			for _, doc := range p.Documents {
				if doc.Type == "Warning" {
					story.Rows = append(story.Rows, dashboard.Row{Reason: doc.Reason, Message: doc.Message})
				}
			}
		}
	}
	var shown []dashboard.Result
	deadline := time.Now().Add(dashboardLook)
	if end := r.phaseDeadline(phase); end.Before(deadline) {
		deadline = end
	}
	_, _ = until(ctx, deadline, func(ctx context.Context) (bool, error) {
		got := dashboard.Check(ctx, r.env.Search, r.s.Dashboard, story)
		if ctx.Err() != nil && shown != nil {
			return false, nil // cut short by the deadline: keep the last full look
		}
		shown = got
		return !slices.ContainsFunc(shown, func(x dashboard.Result) bool { return !x.Passed && !x.Skipped }), nil
	})
	r.mu.Lock()
	r.panels = shown
	r.mu.Unlock()
	out := make([]Result, 0, len(shown))
	for _, pr := range shown {
		detail := pr.Detail
		if pr.Skipped {
			detail = "skipped: " + detail
		}
		out = append(out, Result{Name: pr.Panel.Title, Passed: pr.Passed || pr.Skipped, Detail: detail})
	}
	return out
}
