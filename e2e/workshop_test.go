package e2e

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/features"

	"github.com/eventcheck/eventcheck/internal/check"
	"github.com/eventcheck/eventcheck/internal/report"
	"github.com/eventcheck/eventcheck/internal/session"
)

// TestWorkshopEvents is the workshop's story as the scenario plans it, one
// feature per phase and one assessment per stage, executed by the same
// runner as `eventcheck run`: apply base → a FailedMount document for
// scenario-a, an image pull failure for scenario-b, a FailedScheduling
// "Insufficient cpu" for scenario-c (the documents stage, concurrently) →
// record the Normal count → apply fix → the Normal count rises, new Normal
// documents for each Deployment, the Deployments Available; every phase
// ends with every event of the namespace accounted for (each with exactly
// one document, none rejected), then the dashboard's panels. A phase runs
// only when the phases before it held. Select a stage with --assess NAME,
// a phase with --labels phase=NAME.
func TestWorkshopEvents(t *testing.T) {
	var fs []features.Feature
	for _, p := range story.Plan() {
		f := features.New(fmt.Sprintf("%s/%s", story.Name, p.Name)).
			WithLabel("scenario", story.Name).
			WithLabel("phase", p.Name).
			Setup(func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				s := running(ctx, t)
				if err := s.Runner.Blocked(p.Name); err != nil {
					t.Fatal(err)
				}
				for _, res := range s.Execute(ctx, p.Apply) {
					if !res.Passed {
						t.Fatalf("%s: %s", p.Apply.Name, res.Detail)
					}
				}
				return ctx
			})
		for _, s := range p.Checks {
			f = f.Assess(s.Name, func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
				sess := running(ctx, t)
				res := sess.Execute(ctx, s)
				if len(res) == 1 && len(s.Steps) == 1 {
					verify(ctx, t, sess.Runner, res[0])
					return ctx
				}
				for _, one := range res {
					t.Run(one.Name, func(t *testing.T) { verify(ctx, t, sess.Runner, one) })
				}
				return ctx
			})
		}
		fs = append(fs, f.Feature())
	}
	if derived != nil {
		fs = append(fs, claimsFeature(story.Name))
	}
	testenv.Test(t, fs...)
}

func running(ctx context.Context, t *testing.T) *session.Session {
	s, ok := ctx.Value(sessionKey{}).(*session.Session)
	if !ok || s.Runner == nil {
		t.Fatal("no environment: setup failed")
	}
	return s
}

// verify fails the test with what was found instead and the namespace's
// state, so a failure explains itself.
func verify(ctx context.Context, t *testing.T, r *check.Runner, res check.Result) {
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

// claimsFeature judges the page's claims after its phases (with --page):
// a failed claim fails, a drifted one fails with --strict; each names the
// page's file:line.
func claimsFeature(name string) features.Feature {
	return features.New(name+"/claims").WithLabel("phase", "claims").
		Assess("the page's claims", func(ctx context.Context, t *testing.T, _ *envconf.Config) context.Context {
			for _, c := range derived.Judge(running(ctx, t).Runner.Results()) {
				line := fmt.Sprintf("%s:%d: %s: %s\n  page: %s\n  run:  %s", c.File, c.Line, c.Verdict, c.Key, c.Page, c.Run)
				if c.Verdict == report.Failed || (*strict && c.Verdict == report.Drifted) {
					t.Error(line)
				} else {
					t.Log(line)
				}
			}
			return ctx
		}).Feature()
}
