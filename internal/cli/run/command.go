// Package run is `eventcheck run`: the whole story outside `go test`.
package run

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"github.com/eventcheck/eventcheck"
	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/exporters"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/report"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

type options struct {
	env       harness.Flags
	scenarios string
	checks    string
	outside   bool
	junit     string
	json      string
	html      string
	artifacts string
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
	cmd.Flags().AddGoFlagSet(goFlags)
	cmd.Flags().StringVar(&o.scenarios, "scenarios", "", "scenario directory: kustomizations and checks.yaml (default: the built-in events scenarios)")
	cmd.Flags().StringVar(&o.checks, "checks", "", "checks file to run instead of the scenario directory's checks.yaml (its apply: paths resolve against --scenarios)")
	cmd.Flags().BoolVar(&o.outside, "allow-outside-scenario", false, "let phases apply kustomizations outside the scenario directory")
	cmd.Flags().StringVar(&o.junit, "junit", "", "write a JUnit XML report here")
	cmd.Flags().StringVar(&o.json, "json", "", "write a JSON report here")
	cmd.Flags().StringVar(&o.html, "report", "", "write a self-contained HTML report here: checks, the dashboard's panels as charts, the event timeline")
	cmd.Flags().StringVar(&o.artifacts, "artifacts", "", "write diagnostics and logs here on failure")
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
	// A report that cannot be written is found before the environment is
	// up, not after the whole run.
	for _, path := range []string{o.junit, o.json, o.html} {
		if path == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return exitcode.Errorf(exitcode.Usage, "cannot create the directory of the report %s: %v", path, err)
		}
	}
	var rep *report.Run
	var reportErrs []error
	// Reports are written whatever happens; one that fails turns a pass
	// into exit 2 with its path and cause.
	defer func() {
		if rep != nil {
			reportErrs = append(reportErrs, o.writeReports(rep))
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
	if !rep.Passed {
		c, cancel := cleanup()
		rep.Diagnostics = o.diagnose(c, env, r, rep)
		cancel()
		fmt.Fprintln(out, rep.Diagnostics)
	}
	if o.html != "" {
		c, cancel := cleanup()
		reportErrs = append(reportErrs, o.writeHTML(c, env, r, rep, log))
		cancel()
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

// diagnose gathers what explains a failure: the nearest documents for each
// failing check, the namespace from the API, the exporter's readiness,
// metrics and log; with --artifacts, also every component's logs.
func (o *options) diagnose(ctx context.Context, env *harness.Env, r *scenario.Runner, rep *report.Run) string {
	var b strings.Builder
	b.WriteString("── diagnostics ──\n")
	for _, res := range rep.Results {
		if res.Passed {
			continue
		}
		fmt.Fprintf(&b, "%s / %s %s: %s\n", res.Phase, res.Kind, res.Name, res.Detail)
		for _, m := range res.NearMisses {
			fmt.Fprintf(&b, "  nearest: %s\n    fails: %s\n", m.Doc, strings.Join(m.Failures, "; "))
		}
	}
	b.WriteString(r.Diagnose(ctx))
	if x := env.Exporter; x != nil {
		if x.Probes != "" {
			for _, path := range []string{"/readyz", "/metrics"} {
				body := get(ctx, x.Probes+path)
				if path == "/metrics" {
					body = exporterMetrics(body)
				}
				fmt.Fprintf(&b, "exporter %s:\n%s\n", path, indent(body))
			}
		}
		if log, err := x.LogText(ctx); err != nil {
			fmt.Fprintf(&b, "exporter log: %v\n", err)
		} else if log != "" {
			fmt.Fprintf(&b, "exporter log (last lines):\n%s\n", indent(logtail.Lines(log, 20)))
		}
		fmt.Fprintf(&b, "exporter writes: %s\n", x.Index)
	}
	if o.artifacts != "" {
		if err := os.MkdirAll(o.artifacts, 0o755); err == nil {
			_ = os.WriteFile(filepath.Join(o.artifacts, "diagnostics.txt"), []byte(b.String()), 0o644)
			if err := env.ExportLogs(ctx, filepath.Join(o.artifacts, "logs")); err != nil {
				fmt.Fprintf(&b, "exporting logs: %v\n", err)
			}
			fmt.Fprintf(&b, "diagnostics and logs written to %s\n", o.artifacts)
		}
	}
	return b.String()
}

func get(ctx context.Context, url string) string {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err.Error()
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	return strings.TrimSpace(string(data))
}

// exporterMetrics keeps the exporter's own series.
func exporterMetrics(all string) string {
	var keep []string
	for _, l := range strings.Split(all, "\n") {
		if strings.HasPrefix(l, "events_exporter_") && !strings.Contains(l, "_bucket{") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

func indent(s string) string {
	return "  " + strings.ReplaceAll(strings.TrimSpace(s), "\n", "\n  ")
}

// writeHTML writes the HTML report; the timeline is read from the index
// before the scenario's objects are removed.
func (o *options) writeHTML(ctx context.Context, env *harness.Env, r *scenario.Runner, rep *report.Run, log *slog.Logger) error {
	q := eventindex.Query{}.And(eventindex.Term("metadata.namespace", r.S.Checks.Namespace), eventindex.TimeRange(rep.Started.Add(-time.Second), time.Time{}))
	docs, err := env.Search.Search(ctx, q, 1000)
	if err != nil {
		log.Warn("timeline for the report", "err", err)
	}
	return report.WriteHTML(o.html, rep, r.Panels(), report.Timeline(docs, r.Workloads()))
}

func (o *options) writeReports(rep *report.Run) error {
	var errs []error
	if o.json != "" {
		errs = append(errs, report.WriteJSON(o.json, rep))
	}
	if o.junit != "" {
		errs = append(errs, report.WriteJUnit(o.junit, rep))
	}
	return errors.Join(errs...)
}
