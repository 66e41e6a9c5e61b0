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

// Prepare creates the reports' directories, so a report that cannot be
// written is found before the environment is up, not after the whole run.
func (o Outputs) Prepare() error {
	for _, path := range []string{o.JUnit, o.JSON, o.HTML} {
		if path == "" {
			continue
		}
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			return fmt.Errorf("cannot create the directory of the report %s: %v", path, err)
		}
	}
	return nil
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
