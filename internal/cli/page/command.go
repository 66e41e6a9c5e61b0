// Package page is `eventcheck page`: the workshop page is the test. It
// derives the plan from the page (its applies, its exporter install, its
// event claims, its dashboard link), runs it like `eventcheck run`, and
// gives each claim of the page its verdict at the page's file:line.
package page

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventcheck/eventcheck/internal/check"
	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/cli/flags"
	"github.com/eventcheck/eventcheck/internal/cli/run"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/pagecheck"
	"github.com/eventcheck/eventcheck/internal/report"
	"github.com/eventcheck/eventcheck/internal/scenario"
	"github.com/eventcheck/eventcheck/internal/session"
)

type options struct {
	env        flags.Env
	outputs    session.Outputs
	manifests  string
	dashboards string
	checks     string
	plan       bool
	// exporterSet: --exporter was given, so the page does not choose it.
	exporterSet bool
	strict      bool
	timeout     time.Duration
}

// Command returns `eventcheck page`.
func Command(log *slog.Logger) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "page PAGE.md [TRANSLATION.md...]",
		Short: "Run the story a workshop page tells and give each of its claims a verdict",
		Long: `page derives the plan from a workshop page: each kubectl apply -k is a phase,
its helm install the exporter's values, each event it quotes (kubectl get
events rows, a workload named with a reason and a message in prose) a
document check, its dashboard link the panels to check, a tip that counts
only go up a rise. It runs the plan as eventcheck run does, then gives every
claim a verdict: holds, drifted (same event, other wording: a word diff),
failed or skipped (with why), at the page's file:line. Translations given
with it are compared claim by claim.

Exit codes: 0 every claim held or drifted (drifted fails with --strict);
1 a claim or check failed; 2 usage, page or plan error; 3 the environment
could not be brought up; 130 interrupted.

  eventcheck page website/docs/observability/opensearch/kubernetes-events.md --manifests manifests
  eventcheck page --plan PAGE.md --manifests manifests    # print the derived checks.yaml, run nothing`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, pages []string) error {
			o.exporterSet = cmd.Flags().Changed("exporter")
			return o.run(cmd.Context(), cmd.OutOrStdout(), log, pages)
		},
	}
	goFlags := flag.NewFlagSet("page", flag.ContinueOnError)
	o.env.Register(goFlags, true)
	o.outputs.Register(goFlags)
	cmd.Flags().AddGoFlagSet(goFlags)
	cmd.Flags().StringVar(&o.manifests, "manifests", "", "the workshop repository's manifests directory: what the page's ~/environment/eks-workshop stands for (required)")
	cmd.Flags().StringVar(&o.dashboards, "dashboards", "", "dashboards export the page's dashboard link must be in (default: the .ndjson files of the page's module)")
	cmd.Flags().StringVar(&o.checks, "checks", "", "checks.yaml merged into the derived plan: its steps add to the page's, or replace those of the same name (default: a checks.yaml beside the page's scenarios)")
	cmd.Flags().BoolVar(&o.plan, "plan", false, "print the plan derived from the page as checks.yaml and run nothing")
	cmd.Flags().BoolVar(&o.strict, "strict", false, "a drifted claim fails the run (exit 1)")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 20*time.Minute, "bound for the whole run")
	return cmd
}

func (o *options) run(parent context.Context, out io.Writer, log *slog.Logger, pages []string) error {
	if o.manifests == "" {
		return exitcode.Errorf(exitcode.Usage, "--manifests is required: the workshop repository's manifests directory (the page's ~/environment/eks-workshop)")
	}
	if o.timeout <= 0 {
		return exitcode.Errorf(exitcode.Usage, "--timeout %s: give a positive bound for the whole run, such as 20m", o.timeout)
	}
	var d *pagecheck.Derived
	err := run.Loading(parent, func() (err error) {
		if d, err = pagecheck.Load(pages, o.manifests, o.dashboards); err != nil {
			return err
		}
		return d.Override(o.checks)
	})
	if err != nil {
		return err
	}
	if o.plan {
		_, err := out.Write(d.Checks)
		return err
	}
	o.env.InstallsPagesChart(d.Story.Helm, o.exporterSet)
	d.RunsExporter(o.env.Exporter)
	for _, u := range d.Unknown {
		fmt.Fprintf(out, "%s:%d: warning: %s: %s; the page's exporter ignores it, and so does this run\n", d.Story.Helm.Values[0], u.Line, u.Path, u.Message)
	}
	dir, err := os.MkdirTemp("", "eventcheck-page-")
	if err != nil {
		return exitcode.Wrap(exitcode.Environment, err)
	}
	defer os.RemoveAll(dir)
	var s *scenario.Scenario
	var envOpts harness.Options
	err = run.Loading(parent, func() (err error) {
		if s, err = d.Scenario(dir); err != nil {
			return err
		}
		if envOpts, err = o.env.OptionsFor(log, s); err != nil {
			return err
		}
		return o.outputs.Prepare()
	})
	if err != nil {
		return err
	}
	judge := func(results []check.Result, rep *report.Run) int { return d.Conclude(results, rep, o.strict) }
	return run.Story(parent, out, session.Config{Scenario: s, Env: envOpts, Outputs: o.outputs, Keep: o.env.Keep,
		Timeout: o.timeout, Log: log, Judge: judge, Strict: o.strict})
}
