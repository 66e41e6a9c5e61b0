// Package run is `eventcheck run`: the whole story outside `go test`.
package run

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventcheck/eventcheck"
	"github.com/eventcheck/eventcheck/internal/check"
	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/cli/flags"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/report"
	"github.com/eventcheck/eventcheck/internal/scenario"
	"github.com/eventcheck/eventcheck/internal/session"
)

type options struct {
	env       flags.Env
	scenarios string
	checks    string
	outside   bool
	outputs   session.Outputs
	timeout   time.Duration
}

// Command returns `eventcheck run`.
func Command(log *slog.Logger) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "run",
		Short: "Bring up an environment, run a scenario's phases and checks, and report",
		Long: `run brings up a cluster, an OpenSearch and the events exporter (or reuses
them), applies each phase of the scenario and checks what reaches OpenSearch.

Exit codes: 0 every check held; 1 a check failed; 2 usage or scenario error;
3 the environment could not be brought up; 130 interrupted (cleaned up).`,
		Args: flags.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return o.run(cmd.Context(), cmd.OutOrStdout(), log)
		},
	}
	goFlags := flag.NewFlagSet("run", flag.ContinueOnError)
	o.env.Register(goFlags, true)
	o.outputs.Register(goFlags)
	cmd.Flags().AddGoFlagSet(goFlags)
	cmd.Flags().StringVar(&o.scenarios, "scenarios", "", "scenario directory: kustomizations and checks.yaml (default: the built-in events scenarios)")
	cmd.Flags().StringVar(&o.checks, "checks", "", "checks file to run instead of the scenario directory's checks.yaml (its apply: paths resolve against --scenarios)")
	cmd.Flags().BoolVar(&o.outside, "allow-outside-scenario", false, "let phases apply kustomizations outside the scenario directory")
	cmd.Flags().DurationVar(&o.timeout, "timeout", 20*time.Minute, "bound for the whole run")
	return cmd
}

// printer writes one line per step, with the time since the start.
type printer struct {
	mu    sync.Mutex
	w     io.Writer
	start time.Time
}

func (p *printer) line(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "[%6.1fs] %s\n", time.Since(p.start).Seconds(), fmt.Sprintf(format, args...))
}

func (p *printer) progress(r check.Result, done bool) {
	name := r.Phase + ": " + string(r.Kind) + " " + r.Name
	switch {
	case !done:
		p.line("… %s", name)
	case r.Passed && r.Elapsed > 0 && r.Kind.Timed():
		p.line("✓ %s (%s after apply)", name, r.Elapsed.Round(100*time.Millisecond))
	case r.Passed:
		p.line("✓ %s: %s", name, r.Detail)
	default:
		p.line("✗ %s: %s", name, r.Detail)
	}
}

func (o *options) run(parent context.Context, out io.Writer, log *slog.Logger) error {
	s, envOpts, err := o.inputs(parent, out, log)
	if err != nil {
		return err
	}
	return Story(parent, out, session.Config{Scenario: s, Env: envOpts, Outputs: o.outputs, Keep: o.env.Keep, Timeout: o.timeout, Log: log})
}

// Story runs a scenario through a session and prints as `eventcheck run`
// does: a line per step, diagnostics when something failed, the summary
// (and the claims of a page). `eventcheck page` runs through it too.
func Story(parent context.Context, out io.Writer, cfg session.Config) error {
	ctx, cancel := context.WithTimeout(parent, cfg.Timeout)
	defer cancel()
	p := &printer{w: out, start: time.Now()}
	cfg.Progress, cfg.Say = p.progress, p.line
	p.line("… environment: cluster %s, OpenSearch %s, exporter", cfg.Env.Cluster, cfg.Env.OpenSearch)
	sess, err := session.Start(ctx, cfg)
	if err != nil {
		p.line("✗ environment: %v", err)
	} else {
		p.line("✓ environment up in %s (%s)", sess.Report.EnvUp.Round(100*time.Millisecond), sess)
		sess.Run(ctx)
	}
	if rerr := sess.Finish(parent); rerr != nil {
		fmt.Fprintln(out, "✗ reports:", rerr)
	}
	if err == nil {
		if !sess.Report.Passed {
			fmt.Fprintln(out, sess.Report.Diagnostics)
		}
		fmt.Fprintln(out)
		report.Summary(out, sess.Report)
		if len(sess.Report.Claims) > 0 {
			fmt.Fprintln(out)
			report.ClaimSummary(out, sess.Report.Claims)
		}
	}
	return sess.Verdict(parent)
}

// inputs loads and checks everything the run takes — flags, the scenario
// (and the checks lint makes of it), the exporter config, the report
// destinations — before anything starts: any of them wrong is a usage
// error (exit 2) that leaves nothing behind. Loading reads files the
// person named (a pipe blocks until it is written), so Ctrl-C during it
// ends the command (exit 130).
func (o *options) inputs(ctx context.Context, out io.Writer, log *slog.Logger) (*scenario.Scenario, harness.Options, error) {
	if o.timeout <= 0 {
		return nil, harness.Options{}, exitcode.Errorf(exitcode.Usage, "--timeout %s: give a positive bound for the whole run, such as 20m", o.timeout)
	}
	var l struct {
		s    *scenario.Scenario
		opts harness.Options
	}
	err := Loading(ctx, func() (err error) {
		if l.s, err = o.load(); err != nil {
			return err
		}
		if l.opts, err = o.env.OptionsFor(log, l.s); err != nil {
			return err
		}
		// Last: it creates nothing, but says so only once all else held.
		return o.outputs.Prepare()
	})
	if err != nil {
		return nil, l.opts, err
	}
	for _, w := range l.s.Warnings {
		fmt.Fprintf(out, "warning: %s\n", w)
	}
	return l.s, l.opts, nil
}

// Loading runs load (reading the files a person named: a pipe blocks
// until it is written) so that Ctrl-C ends the wait: exit 130, nothing
// started; load's own error is a usage error (exit 2).
func Loading(ctx context.Context, load func() error) error {
	done := make(chan error, 1)
	go func() { done <- load() }()
	select {
	case <-ctx.Done():
		return exitcode.Errorf(exitcode.Interrupted, "interrupted while loading the inputs; nothing was started")
	case err := <-done:
		return exitcode.Wrap(exitcode.Usage, err)
	}
}

func (o *options) load() (*scenario.Scenario, error) {
	if o.scenarios == "" {
		if o.checks != "" {
			return nil, errors.New("--checks needs --scenarios: the directory its apply: paths are in")
		}
		return scenario.LoadFS(eventcheck.Content, eventcheck.DefaultScenario)
	}
	opts := []scenario.LoadOption{scenario.AllowOutside(o.outside)}
	if o.checks != "" {
		opts = append(opts, scenario.ChecksAt(o.checks))
	}
	return scenario.LoadDir(o.scenarios, opts...)
}
