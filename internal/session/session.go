// Package session owns one run of a scenario, for every front end
// (`eventcheck run`, the e2e suite): Start brings up the environment and
// the check engine, Run or Execute runs the plan (whole, or a stage at a
// time), and Finish concludes, writes every report and takes down what
// the run started, whatever happened before it. Verdict is the one rule
// for pass and fail, and the one mapping to exit codes.
package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/eventcheck/eventcheck/internal/check"
	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/exporters"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/report"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// cleanupBound bounds Finish's work after the run's own context ended
// (Ctrl-C, --timeout): clean-up still happens, within its own limit.
const cleanupBound = 3 * time.Minute

// Config is one run.
type Config struct {
	Scenario *scenario.Scenario
	Env      harness.Options
	Outputs  Outputs
	// Keep leaves the environment and the scenario's objects in place.
	Keep bool
	// Timeout is the bound the front end put on the run's context; it
	// only names the limit in the verdict.
	Timeout time.Duration
	// Progress is told of every step; Say gets the lifecycle's lines
	// (environment kept, a teardown that failed). Either may be nil.
	Progress check.Progress
	Say      func(format string, args ...any)
	Log      *slog.Logger
	// Judge, when set, gives a page's claims their verdicts from the
	// results (eventcheck page), and says how many of them fail the run.
	// It may fill the report's claims and page view.
	Judge func(results []check.Result, rep *report.Run) (failed int)
	// Strict is the page's --strict, for the reports.
	Strict bool
}

// Session is a run in progress.
type Session struct {
	cfg Config
	// Env and Runner are nil until Start got that far.
	Env    *harness.Env
	Runner *check.Runner
	// Report is the run's, filled in as it goes.
	Report *report.Run

	mu       sync.Mutex
	startErr error
	cut      error // the run's context's error, when it ended the run
	reports  error
	finished bool
	// claimsFailed is how many of the page's claims failed.
	claimsFailed int
}

// Start brings up the environment (the exporter included) and the check
// engine. It always returns a session, so Finish can write the reports of
// a run whose environment never came up.
func Start(ctx context.Context, cfg Config) (*Session, error) {
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Say == nil {
		cfg.Say = func(string, ...any) {}
	}
	cfg.Env.FailureLogs = cfg.Outputs.FailureLogs()
	if cfg.Env.Log == nil {
		cfg.Env.Log = cfg.Log
	}
	s := &Session{cfg: cfg, Report: &report.Run{Scenario: cfg.Scenario.Name, Started: time.Now(), Cluster: cfg.Env.Cluster, OpenSearch: cfg.Env.OpenSearch}}
	env, err := harness.Up(ctx, cfg.Env)
	s.Report.EnvUp = time.Since(s.Report.Started)
	if err == nil {
		s.Env = env
		s.Report.Cluster, s.Report.OpenSearch = env.ClusterKind, env.OpenSearchKind
		if env.Exporter != nil {
			s.Report.Notes = env.Exporter.Notes
		}
		s.Runner, err = check.New(cfg.Scenario, engineEnv(env), cfg.Progress)
	}
	if err != nil {
		s.startErr = err
		s.Report.Error = err.Error()
		return s, err
	}
	return s, nil
}

// engineEnv is what the check engine needs of the environment.
func engineEnv(e *harness.Env) check.Env {
	ce := check.Env{REST: e.REST, Kube: e.Kube, Search: e.Search}
	if x := e.Exporter; x != nil {
		ce.KeyedByUID = x.KeyedByUID
		if x.Rejections != nil {
			ce.Exporter = rejections(x.Rejections)
		}
	}
	return ce
}

// rejections tells the engine what the exporter says it could not index.
type rejections func(context.Context) (int64, []string, error)

func (f rejections) Rejections(ctx context.Context) (check.Rejections, error) {
	n, reasons, err := f(ctx)
	return check.Rejections{Count: n, Reasons: reasons}, err
}

// Run executes the whole plan.
func (s *Session) Run(ctx context.Context) []check.Result {
	defer s.note(ctx)
	return s.Runner.Run(ctx)
}

// Execute runs one stage of the plan (the e2e suite's assessments).
func (s *Session) Execute(ctx context.Context, st scenario.Stage) []check.Result {
	defer s.note(ctx)
	return s.Runner.Execute(ctx, st)
}

// note keeps why the run's context ended, if it did: a run cut short
// did not pass, whatever its finished checks say.
func (s *Session) note(ctx context.Context) {
	if err := ctx.Err(); err != nil {
		s.mu.Lock()
		s.cut = err
		s.mu.Unlock()
	}
}

// Finish ends the run: the report completed (diagnostics while the
// environment is still up, the HTML report with the event timeline), the
// JSON and JUnit reports written, then, unless kept, the scenario's
// objects removed and the environment taken down. It is safe after a
// failed Start, after a panic, and a second time (which does nothing).
// Its error is the reports' (clean-up failures are said, not returned).
func (s *Session) Finish(ctx context.Context) error {
	if s == nil {
		return nil
	}
	s.mu.Lock()
	if s.finished {
		s.mu.Unlock()
		return s.reports
	}
	s.finished = true
	s.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupBound)
	defer cancel()

	rep := s.Report
	if s.Runner != nil {
		if s.cfg.Judge != nil && s.Env != nil {
			// A page's claims are judged on every document the run stored.
			s.Runner.Recheck(ctx)
		}
		rep.Results = s.Runner.Results()
	}
	if s.cfg.Judge != nil {
		failed := s.cfg.Judge(rep.Results, rep)
		s.mu.Lock()
		rep.Strict, s.claimsFailed = s.cfg.Strict, failed
		s.mu.Unlock()
	}
	rep.Passed = s.passed()
	rep.Duration = time.Since(rep.Started)
	var errs []error
	if s.Env != nil && s.Runner != nil {
		start := time.Now()
		errs = append(errs, s.conclude(ctx))
		s.cfg.Log.Debug("run concluded", "elapsed", time.Since(start).Round(time.Millisecond))
	}
	errs = append(errs, s.cfg.Outputs.Write(rep))
	s.reports = errors.Join(errs...)
	if s.cfg.Keep && s.Env != nil {
		s.cfg.Say("environment kept (--keep): kubeconfig %s, OpenSearch %s", s.Env.Cluster.Kubeconfig(), s.Env.Instance.Endpoint)
		return s.reports
	}
	// The scenario's objects are deleted only where the cluster outlives
	// the run (--reuse, a kubeconfig cluster): a cluster that goes down
	// takes them with it, and waiting for their deletion first is time lost.
	if s.Runner != nil && (s.Env == nil || s.Env.Outlives()) {
		start := time.Now()
		if err := s.Runner.Teardown(ctx); err != nil {
			s.cfg.Say("✗ teardown: %v", err)
		}
		s.cfg.Log.Debug("scenario's objects deleted", "elapsed", time.Since(start).Round(time.Millisecond))
	}
	if s.Env != nil {
		start := time.Now()
		if err := s.Env.Down(ctx); err != nil {
			s.cfg.Say("✗ environment down: %v", err)
		}
		s.cfg.Log.Debug("environment down", "elapsed", time.Since(start).Round(time.Millisecond))
	}
	return s.reports
}

// passed is the one rule: the environment came up, the run was not cut
// short, and every check held.
func (s *Session) passed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.startErr == nil && s.cut == nil && s.Runner != nil && check.Passed(s.Runner.Results()) && s.claimsFailed == 0
}

// ErrInterruptedStart is an interrupt while the environment came up
// (Start undid what it had started).
var ErrInterruptedStart = errors.New("interrupted while bringing the environment up; what was started is stopped")

// Verdict is the run's outcome as an error carrying its exit code, nil
// when every check held; parent is the front end's context before its
// --timeout, to tell Ctrl-C from the timeout. Call it after Finish.
func (s *Session) Verdict(parent context.Context) error {
	s.mu.Lock()
	startErr, cut, reports := s.startErr, s.cut, s.reports
	s.mu.Unlock()
	switch {
	case parent.Err() != nil && startErr != nil:
		return exitcode.Wrap(exitcode.Interrupted, ErrInterruptedStart)
	case parent.Err() != nil:
		return exitcode.Wrap(exitcode.Interrupted, errors.New("interrupted; the scenario's objects and the environment were removed"))
	case startErr != nil && errors.Is(startErr, exporters.ErrUsage):
		return exitcode.Wrap(exitcode.Usage, startErr)
	case startErr != nil:
		return exitcode.Wrap(exitcode.Environment, startErr)
	case errors.Is(cut, context.DeadlineExceeded):
		return exitcode.Errorf(exitcode.CheckFailed, "the run did not finish within --timeout %s", s.cfg.Timeout)
	case !s.passed() && s.claimsFailed > 0 && failed(s.Report.Results) == 0:
		return exitcode.Errorf(exitcode.CheckFailed, "%d of the page's claims did not hold", s.claimsFailed)
	case !s.passed():
		return exitcode.Errorf(exitcode.CheckFailed, "%d check(s) did not hold", failed(s.Report.Results))
	case reports != nil:
		return exitcode.Wrap(exitcode.Usage, reports)
	}
	return nil
}

func failed(res []check.Result) int {
	n := 0
	for _, r := range res {
		if !r.Passed {
			n++
		}
	}
	return n
}

// String says where the environment is, for the front end's line.
func (s *Session) String() string {
	if s.Env == nil {
		return "no environment"
	}
	return fmt.Sprintf("cluster %s, kubeconfig %s, OpenSearch %s", s.Env.ClusterKind, s.Env.Cluster.Kubeconfig(), s.Env.Instance.Endpoint)
}
