package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

type runnerKey struct{}

// TestWorkshopEvents is the workshop's story, one feature per phase:
// apply base → a FailedMount document for scenario-a, an image pull failure
// for scenario-b, a FailedScheduling "Insufficient cpu" for scenario-c →
// record the Normal count → apply fix → the Normal count rises, new Normal
// documents for each Deployment, the Deployments Available; every phase
// ends with every event of the namespace accounted for (each with exactly
// one document, none rejected), then the dashboard's panels. Each check is
// its own assessment (select with --assess NAME); each phase is labelled
// phase=NAME (select with --labels).
func TestWorkshopEvents(t *testing.T) {
	s, err := loadScenario()
	if err != nil {
		t.Fatal(err)
	}
	var fs []features.Feature
	for i, p := range s.Checks.Phases {
		f := features.New(fmt.Sprintf("%s/%s", s.Name, p.Name)).
			WithLabel("scenario", s.Name).
			WithLabel("phase", p.Name).
			Setup(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				r := runner(ctx, t, s)
				if res := r.Apply(ctx, p); !res.Passed {
					t.Fatalf("apply %s: %s", p.Apply, res.Detail)
				}
				return context.WithValue(ctx, runnerKey{}, r)
			})
		for _, d := range p.Documents {
			f = f.Assess(d.Name, func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				r := ctx.Value(runnerKey{}).(*scenario.Runner)
				check(ctx, t, r, r.Document(ctx, p, d))
				return ctx
			})
		}
		for _, c := range p.Record {
			f = f.Assess("record "+c.Name, func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				r := ctx.Value(runnerKey{}).(*scenario.Runner)
				check(ctx, t, r, r.Record(ctx, p, c))
				return ctx
			})
		}
		for _, rise := range p.Rises {
			f = f.Assess(rise.Name, func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				r := ctx.Value(runnerKey{}).(*scenario.Runner)
				check(ctx, t, r, r.Rise(ctx, p, rise))
				return ctx
			})
		}
		for _, u := range p.Updates {
			f = f.Assess(u.Name, func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				r := ctx.Value(runnerKey{}).(*scenario.Runner)
				check(ctx, t, r, r.Update(ctx, p, u))
				return ctx
			})
		}
		for _, e := range p.Enrichment {
			f = f.Assess(e.Name, func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				r := ctx.Value(runnerKey{}).(*scenario.Runner)
				check(ctx, t, r, r.Enrichment(ctx, p, e))
				return ctx
			})
		}
		for _, w := range p.Workloads {
			f = f.Assess(fmt.Sprintf("%s %s %s", w.Kind, w.Name, w.Condition), func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				r := ctx.Value(runnerKey{}).(*scenario.Runner)
				check(ctx, t, r, r.Workload(ctx, p, w))
				return ctx
			})
		}
		f = f.Assess("every event accounted for", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			r := ctx.Value(runnerKey{}).(*scenario.Runner)
			for _, res := range r.Accounted(ctx, p) {
				t.Run(res.Name, func(t *testing.T) { check(ctx, t, r, res) })
			}
			return ctx
		})
		if d := s.Checks.Dashboard; d != nil && d.After == p.Name {
			f = f.Assess("dashboard "+s.Dashboard.Title, func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				r := ctx.Value(runnerKey{}).(*scenario.Runner)
				for _, res := range r.Dashboard(ctx) {
					t.Run(res.Name, func(t *testing.T) { check(ctx, t, r, res) })
				}
				return ctx
			})
		}
		if i == len(s.Checks.Phases)-1 {
			f = f.Teardown(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				if flags.Keep {
					return ctx
				}
				if err := ctx.Value(runnerKey{}).(*scenario.Runner).Teardown(ctx); err != nil {
					t.Errorf("teardown: %v", err)
				}
				return ctx
			})
		}
		fs = append(fs, f.Feature())
	}
	testenv.Test(t, fs...)
}

// runner is shared by the phases (recorded counts carry over).
var shared *scenario.Runner

func runner(ctx context.Context, t *testing.T, s *scenario.Scenario) *scenario.Runner {
	if shared != nil {
		return shared
	}
	e, ok := ctx.Value(envKey{}).(*harness.Env)
	if !ok {
		t.Fatal("no environment: setup failed")
	}
	r, err := e.Runner(s, nil)
	if err != nil {
		t.Fatal(err)
	}
	shared = r
	return r
}

// check fails the test with what was found instead and the namespace's
// state, so a failure explains itself.
func check(ctx context.Context, t *testing.T, r *scenario.Runner, res scenario.Result) {
	t.Helper()
	if res.Passed {
		if res.Elapsed > 0 {
			t.Logf("%s (%s after apply)", res.Detail, res.Elapsed.Round(100_000_000))
		} else {
			t.Log(res.Detail)
		}
		return
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s: %s\n", res.Name, res.Detail)
	if len(res.NearMisses) > 0 {
		b.WriteString("nearest documents:\n")
		for _, m := range res.NearMisses {
			fmt.Fprintf(&b, "  %s\n    fails: %s\n", m.Doc, strings.Join(m.Failures, "; "))
		}
	}
	b.WriteString(r.Diagnose(ctx))
	t.Error(b.String())
}
