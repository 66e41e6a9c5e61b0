package check

import (
	"context"

	"github.com/eventcheck/eventcheck/internal/scenario"
)

// evaluation is one check kind's: it waits on the kind's condition until
// the step's deadline and gives its results.
type evaluation func(ctx context.Context, r *Runner, phase string, c scenario.Check) []Result

// kinds is every kind a plan holds, one entry each; its fields and
// validation are the scenario package's, its condition is in the file of
// its name here.
var kinds = map[scenario.Kind]evaluation{
	scenario.KindApply:        one(apply),
	scenario.KindDocument:     one(document),
	scenario.KindRecord:       one(record),
	scenario.KindRise:         one(rise),
	scenario.KindUpdates:      one(updates),
	scenario.KindEnrichment:   one(enrichment),
	scenario.KindWorkload:     one(workload),
	scenario.KindPod:          one(pod),
	scenario.KindCompleteness: entry(accounted),
	scenario.KindPanel:        entry(panels),
}

func entry[C scenario.Check](f func(context.Context, *Runner, string, C) []Result) evaluation {
	return func(ctx context.Context, r *Runner, phase string, c scenario.Check) []Result {
		return f(ctx, r, phase, c.(C))
	}
}

func one[C scenario.Check](f func(context.Context, *Runner, string, C) Result) evaluation {
	return entry(func(ctx context.Context, r *Runner, phase string, c C) []Result {
		return []Result{f(ctx, r, phase, c)}
	})
}
