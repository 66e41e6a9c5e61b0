// Package report writes a run's results for people (a summary table) and
// for pipelines (JSON, JUnit XML).
package report

import (
	"encoding/json"
	"encoding/xml"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/eventcheck/eventcheck/internal/check"
)

// Run is everything a report needs.
type Run struct {
	Scenario   string         `json:"scenario"`
	Cluster    string         `json:"cluster"`
	OpenSearch string         `json:"opensearch"`
	Started    time.Time      `json:"started"`
	Duration   time.Duration  `json:"durationNs"`
	EnvUp      time.Duration  `json:"environmentUpNs"`
	Passed     bool           `json:"passed"`
	Error      string         `json:"error,omitempty"`
	Results    []check.Result `json:"results"`
	// Claims are a workshop page's claims with their verdicts (eventcheck
	// page); Strict makes a drifted one fail.
	Claims []Claim `json:"claims,omitempty"`
	Strict bool    `json:"strict,omitempty"`
	// Page is the page itself with its claims, for the HTML report.
	Page *PageView `json:"-"`
	// Notes say what the checks ran on that they cannot show themselves
	// (the index without our template).
	Notes []string `json:"notes,omitempty"`
	// Diagnostics, present when something failed.
	Diagnostics string `json:"diagnostics,omitempty"`
}

// Summary writes the table a person reads at the end of a run.
func Summary(w io.Writer, r *Run) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "PHASE\tCHECK\tRESULT\tAPPLY→HOLDS\tDETAIL")
	for _, res := range r.Results {
		mark := "✓"
		if !res.Passed {
			mark = "✗"
		}
		elapsed := "-"
		if res.Elapsed > 0 && res.Kind.Timed() {
			elapsed = res.Elapsed.Round(100 * time.Millisecond).String()
		}
		fmt.Fprintf(tw, "%s\t%s %s\t%s\t%s\t%s\n", res.Phase, res.Kind, res.Name, mark, elapsed, oneLine(res.Detail, 90))
	}
	tw.Flush()
	verdict := "PASS"
	if !r.Passed {
		verdict = "FAIL"
	}
	passed := 0
	for _, res := range r.Results {
		if res.Passed {
			passed++
		}
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note: %s\n", n)
	}
	fmt.Fprintf(w, "%s: %d passed, %d failed in %s (environment up in %s)\n", verdict, passed, len(r.Results)-passed,
		r.Duration.Round(100*time.Millisecond), r.EnvUp.Round(100*time.Millisecond))
}

func oneLine(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > n {
		return s[:n-1] + "…"
	}
	return s
}

// WriteJSON writes the run as JSON.
func WriteJSON(path string, r *Run) error {
	data, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	return writeFile("JSON", path, append(data, '\n'))
}

// writeFile writes a report, creating the directories its path needs; the
// error names the report and the path.
func writeFile(what, path string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("failed to write the %s report %s: %w", what, path, err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		return fmt.Errorf("failed to write the %s report %s: %w", what, path, err)
	}
	return nil
}

type junitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Suites  []junitSuite `xml:"testsuite"`
}

type junitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Time     float64     `xml:"time,attr"`
	Cases    []junitCase `xml:"testcase"`
}

type junitCase struct {
	Name      string        `xml:"name,attr"`
	Classname string        `xml:"classname,attr"`
	Time      float64       `xml:"time,attr"`
	Failure   *junitFailure `xml:"failure,omitempty"`
	Skipped   *junitSkipped `xml:"skipped,omitempty"`
}

type junitSkipped struct {
	Message string `xml:"message,attr"`
}

type junitFailure struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// WriteJUnit writes one suite per phase, one case per check.
func WriteJUnit(path string, r *Run) error {
	var out junitSuites
	index := map[string]int{}
	for _, res := range r.Results {
		i, ok := index[res.Phase]
		if !ok {
			out.Suites = append(out.Suites, junitSuite{Name: r.Scenario + "/" + res.Phase})
			i = len(out.Suites) - 1
			index[res.Phase] = i
		}
		s := &out.Suites[i]
		c := junitCase{Name: string(res.Kind) + " " + res.Name, Classname: r.Scenario + "." + res.Phase, Time: res.Elapsed.Seconds()}
		if !res.Passed {
			text := res.Detail
			for _, m := range res.NearMisses {
				text += fmt.Sprintf("\nnear miss: %s (fails: %s)", m.Doc, strings.Join(m.Failures, "; "))
			}
			c.Failure = &junitFailure{Message: oneLine(res.Detail, 200), Text: text}
			s.Failures++
		}
		s.Tests++
		s.Time = max(s.Time, res.Elapsed.Seconds())
		s.Cases = append(s.Cases, c)
	}
	if len(r.Claims) > 0 {
		out.Suites = append(out.Suites, claimSuite(r))
	}
	if r.Error != "" {
		out.Suites = append(out.Suites, junitSuite{Name: r.Scenario + "/environment", Tests: 1, Failures: 1,
			Cases: []junitCase{{Name: "environment", Classname: r.Scenario, Failure: &junitFailure{Message: oneLine(r.Error, 200), Text: r.Error}}}})
	}
	data, err := xml.MarshalIndent(out, "", "  ")
	if err != nil {
		return err
	}
	return writeFile("JUnit", path, append([]byte(xml.Header), append(data, '\n')...))
}
