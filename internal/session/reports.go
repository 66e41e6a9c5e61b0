package session

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/report"
)

// Outputs are the reports a run writes. `eventcheck run` and `go test
// ./e2e` take the same flags, so a pipeline gets the same files from
// either; each flag defaults to an environment variable for runners that
// cannot pass flags after -args.
type Outputs struct {
	JUnit     string
	JSON      string
	HTML      string
	Artifacts string
}

// Register adds --junit, --json, --report and --artifacts.
func (o *Outputs) Register(fs *flag.FlagSet) {
	fs.StringVar(&o.JUnit, "junit", os.Getenv("EVENTCHECK_JUNIT"), "write a JUnit XML report here ($EVENTCHECK_JUNIT)")
	fs.StringVar(&o.JSON, "json", os.Getenv("EVENTCHECK_JSON"), "write a JSON report here ($EVENTCHECK_JSON)")
	fs.StringVar(&o.HTML, "report", os.Getenv("EVENTCHECK_REPORT"), "write a self-contained HTML report here: checks, the dashboard's panels as charts, the event timeline ($EVENTCHECK_REPORT)")
	fs.StringVar(&o.Artifacts, "artifacts", os.Getenv("EVENTCHECK_ARTIFACTS"), "write diagnostics and logs here on failure ($EVENTCHECK_ARTIFACTS)")
}

// FailureLogs is where every component's logs go on a failure (a check
// that did not hold, or an environment that did not come up): the
// artifacts' logs directory, or nowhere without one.
func (o Outputs) FailureLogs() string {
	if o.Artifacts == "" {
		return ""
	}
	return filepath.Join(o.Artifacts, "logs")
}

// Prepare checks every report destination before the environment starts,
// so a report that cannot be written is found now, not after the whole
// run: --junit, --json and --report must name a file (not a directory or a
// device such as /dev/full) in a place that can be written, --artifacts a
// directory. It creates nothing (the writers create the directories a
// report needs), so a usage error leaves no empty directory behind.
func (o Outputs) Prepare() error {
	var errs []error
	for _, r := range []struct{ flag, path string }{{"--junit", o.JUnit}, {"--json", o.JSON}, {"--report", o.HTML}} {
		if r.path != "" {
			errs = append(errs, checkReport(r.flag, r.path))
		}
	}
	if o.Artifacts != "" {
		errs = append(errs, checkArtifacts(o.Artifacts))
	}
	return errors.Join(errs...)
}

// reportName is the usual file of each report, for the messages.
var reportName = map[string]string{"--junit": "junit.xml", "--json": "report.json", "--report": "report.html"}

// checkReport wants path to be a file that can be written: an existing
// regular file (or a pipe or terminal, /dev/null), or a new one under a
// directory that can be written.
func checkReport(flag, path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return checkCreatable(flag, path, path)
	}
	switch mode := st.Mode(); {
	case mode.IsDir():
		return fmt.Errorf("%s %s is a directory: give the report's file, such as %s", flag, path, filepath.Join(path, reportName[flag]))
	case mode.IsRegular():
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			return fmt.Errorf("%s %s cannot be written: %v", flag, path, cause(err))
		}
		return f.Close()
	case mode&os.ModeNamedPipe != 0 || terminalOrNull(path):
		return nil
	}
	return fmt.Errorf("%s %s is not a regular file (a device such as /dev/full refuses the report at the end of the run): give a file", flag, path)
}

// terminalOrNull is true for /dev/null and a terminal (--json /dev/stdout
// on a terminal), where writing a report is what the person asked for.
func terminalOrNull(path string) bool {
	real, err := filepath.EvalSymlinks(path)
	return err == nil && (real == os.DevNull || strings.HasPrefix(real, "/dev/pts/") || strings.HasPrefix(real, "/dev/tty"))
}

// checkArtifacts wants a directory that exists and can be written, or can
// be created.
func checkArtifacts(dir string) error {
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		return checkCreatable("--artifacts", dir, filepath.Join(dir, "logs"))
	case !st.IsDir():
		return fmt.Errorf("--artifacts %s is a file: give a directory (diagnostics and logs go under it)", dir)
	}
	return probe("--artifacts", dir, dir)
}

// checkCreatable: the nearest directory of path that exists must be a
// directory that can be written.
func checkCreatable(flag, given, path string) error {
	for dir := filepath.Dir(path); ; dir = filepath.Dir(dir) {
		st, err := os.Stat(dir)
		switch {
		case err == nil && !st.IsDir():
			return fmt.Errorf("%s %s cannot be created: %s is a file, not a directory", flag, given, dir)
		case err == nil:
			return probe(flag, given, dir)
		case !errors.Is(err, os.ErrNotExist):
			return fmt.Errorf("%s %s cannot be created: %v", flag, given, err)
		case dir == filepath.Dir(dir):
			return fmt.Errorf("%s %s cannot be created: %v", flag, given, err)
		}
	}
}

// probe creates and removes a file in dir: permissions, a read-only file
// system or /proc refuse it now rather than at the end of the run.
func probe(flag, given, dir string) error {
	f, err := os.CreateTemp(dir, ".eventcheck-probe-*")
	if err != nil {
		return fmt.Errorf("%s %s cannot be written: the directory %s refuses new files (%v)", flag, given, dir, cause(err))
	}
	f.Close()
	return os.Remove(f.Name())
}

// cause is the system's reason of a path error, without the path again.
func cause(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// Write writes the JSON and JUnit reports (the HTML one needs the
// environment: Conclude writes it).
func (o Outputs) Write(rep *report.Run) error {
	var errs []error
	if o.JSON != "" {
		errs = append(errs, report.WriteJSON(o.JSON, rep))
	}
	if o.JUnit != "" {
		errs = append(errs, report.WriteJUnit(o.JUnit, rep))
	}
	return errors.Join(errs...)
}

// conclude completes the report while the environment is still up:
// diagnostics when something failed (with every component's logs under
// Artifacts), and the HTML report with the event timeline read from the
// index before the scenario's objects are removed. The JSON and JUnit
// reports are Write's, so they are written even when the environment never
// came up.
func (s *Session) conclude(ctx context.Context) error {
	rep, o, r := s.Report, s.cfg.Outputs, s.Runner
	if !rep.Passed {
		rep.Diagnostics = s.diagnose(ctx)
	}
	if o.HTML == "" {
		return nil
	}
	q := eventindex.Query{}.And(eventindex.Term("metadata.namespace", r.Scenario().Checks.Namespace), eventindex.TimeRange(rep.Started.Add(-time.Second), time.Time{}))
	docs, err := s.Env.Search.Search(ctx, q, 1000)
	if err != nil {
		s.cfg.Log.Warn("timeline for the report", "err", err)
	}
	return report.WriteHTML(o.HTML, rep, r.Panels(), report.Timeline(docs, r.Workloads()))
}

// diagnose gathers what explains a failure: the nearest documents for each
// failing check, the namespace from the API, the exporter's readiness,
// metrics and log; with an artifacts directory, also every component's
// logs.
func (s *Session) diagnose(ctx context.Context) string {
	e, r, rep, o := s.Env, s.Runner, s.Report, s.cfg.Outputs
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
	if x := e.Exporter; x != nil {
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
	if artifacts := o.Artifacts; artifacts != "" {
		if err := os.MkdirAll(artifacts, 0o755); err == nil {
			_ = os.WriteFile(filepath.Join(artifacts, "diagnostics.txt"), []byte(b.String()), 0o644)
			if err := e.ExportLogs(ctx, o.FailureLogs()); err != nil {
				fmt.Fprintf(&b, "exporting logs: %v\n", err)
			}
			fmt.Fprintf(&b, "diagnostics and logs written to %s\n", artifacts)
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
