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
	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/exporters"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/report"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

type options struct {
	env       harness.Flags
	scenarios string
	checks    string
	outside   bool
	outputs   harness.Outputs
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
		Args: cobra.NoArgs,
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

func (p *printer) progress(r scenario.Result, done bool) {
	name := r.Phase + ": " + r.Kind + " " + r.Name
	switch {
	case !done:
		p.line("… %s", name)
	case r.Passed && r.Elapsed > 0 && r.Kind != "apply" && r.Kind != "record":
		p.line("✓ %s (%s after apply)", name, r.Elapsed.Round(100*time.Millisecond))
	case r.Passed:
		p.line("✓ %s: %s", name, r.Detail)
	default:
		p.line("✗ %s: %s", name, r.Detail)
	}
}

func (o *options) run(parent context.Context, out io.Writer, log *slog.Logger) (err error) {
	s, err := o.load()
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	if err := o.outputs.Prepare(); err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	var rep *report.Run
	var reportErrs []error
	// Reports are written whatever happens; one that fails turns a pass
	// into exit 2 with its path and cause.
	defer func() {
		if rep != nil {
			reportErrs = append(reportErrs, o.outputs.Write(rep))
		}
		if rerr := errors.Join(reportErrs...); rerr != nil {
			fmt.Fprintln(out, "✗ reports:", rerr)
			if err == nil {
				err = exitcode.Wrap(exitcode.Usage, rerr)
			}
		}
	}()
	envOpts, err := o.env.OptionsFor(log, s)
	if err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	envOpts.FailureLogs = o.outputs.FailureLogs()
	ctx, cancel := context.WithTimeout(parent, o.timeout)
	defer cancel()
	// Clean-up must run after Ctrl-C too, bounded on its own.
	cleanup := func() (context.Context, context.CancelFunc) {
		return context.WithTimeout(context.WithoutCancel(parent), 3*time.Minute)
	}

	p := &printer{w: out, start: time.Now()}
	rep = &report.Run{Scenario: s.Name, Started: p.start, Cluster: envOpts.Cluster, OpenSearch: envOpts.OpenSearch}

	p.line("… environment: cluster %s, OpenSearch %s, exporter", envOpts.Cluster, envOpts.OpenSearch)
	env, err := harness.Up(ctx, envOpts)
	rep.EnvUp = time.Since(p.start)
	if err != nil {
		rep.Error = err.Error()
		rep.Duration = time.Since(p.start)
		p.line("✗ environment: %v", err)
		if parent.Err() != nil {
			return exitcode.Wrap(exitcode.Interrupted, errors.New("interrupted while bringing the environment up; what was started is stopped"))
		}
		if errors.Is(err, exporters.ErrUsage) {
			return exitcode.Wrap(exitcode.Usage, err)
		}
		return exitcode.Wrap(exitcode.Environment, err)
	}
	rep.Cluster, rep.OpenSearch = env.ClusterKind, env.OpenSearchKind
	p.line("✓ environment up in %s (cluster %s, kubeconfig %s, OpenSearch %s)", rep.EnvUp.Round(100*time.Millisecond), env.ClusterKind, env.Cluster.Kubeconfig(), env.Instance.Endpoint)
	defer func() {
		if o.env.Keep {
			p.line("environment kept (--keep): kubeconfig %s, OpenSearch %s", env.Cluster.Kubeconfig(), env.Instance.Endpoint)
			return
		}
		c, cancel := cleanup()
		defer cancel()
		if err := env.Down(c); err != nil {
			p.line("✗ environment down: %v", err)
		}
	}()

	r, err := env.Runner(s, p.progress)
	if err != nil {
		return exitcode.Wrap(exitcode.Environment, err)
	}
	rep.Results = r.Run(ctx)
	rep.Passed = scenario.Passed(rep.Results) && ctx.Err() == nil
	rep.Duration = time.Since(p.start)
	c, cancelConclude := cleanup()
	reportErrs = append(reportErrs, env.Conclude(c, r, rep, o.outputs, log))
	cancelConclude()
	if !rep.Passed {
		fmt.Fprintln(out, rep.Diagnostics)
	}
	if !o.env.Keep {
		c, cancel := cleanup()
		if err := r.Teardown(c); err != nil {
			p.line("✗ teardown: %v", err)
		}
		cancel()
	}
	fmt.Fprintln(out)
	report.Summary(out, rep)
	switch {
	case parent.Err() != nil:
		return exitcode.Wrap(exitcode.Interrupted, errors.New("interrupted; the scenario's objects and the environment were removed"))
	case ctx.Err() != nil:
		return exitcode.Errorf(exitcode.CheckFailed, "the run did not finish within --timeout %s", o.timeout)
	case !rep.Passed:
		return exitcode.Errorf(exitcode.CheckFailed, "%d check(s) did not hold", failed(rep.Results))
	}
	return nil
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

func failed(res []scenario.Result) int {
	n := 0
	for _, r := range res {
		if !r.Passed {
			n++
		}
	}
	return n
}
