package lint

import (
	"cmp"
	"errors"
	"fmt"
	"os"
	"strings"

	"github.com/eventcheck/eventcheck/internal/exportervalues"
	"github.com/eventcheck/eventcheck/internal/page"
	"github.com/eventcheck/eventcheck/internal/pagecheck"
)

// pageFindings lints workshop pages offline: every path the page applies
// exists and renders, the -f values file exists and each --set key names
// a key it has, the linked dashboard is in the module's export, the
// release and namespace agree with the page's kubectl get pods sample,
// the chart is pinned, and the translations make the same claims.
func pageFindings(in Inputs) []Finding {
	d, err := pagecheck.Load(in.Pages, in.Manifests, in.Dashboards)
	var pe *page.Error
	switch {
	case errors.As(err, &pe):
		return []Finding{{File: pe.File, Line: pe.Line, Severity: Error, Message: pe.Msg}}
	case err != nil:
		return []Finding{located(in.Pages[0], err)}
	}
	var out []Finding
	out = append(out, planFindings(d, in.Checks)...)
	s := d.Story
	if h := s.Helm; h != nil {
		at := func(severity, format string, args ...any) {
			out = append(out, Finding{File: s.File, Line: h.Line, Severity: severity, Message: fmt.Sprintf(format, args...)})
		}
		if h.Version == "" {
			at(Warning, "helm install %s: no --version: a new chart release changes what the workshop runs without anyone noticing; pin the chart", h.Chart)
		}
		if v, err := exportervalues.Load(h.Values[0], nil); err == nil {
			for _, set := range h.Set {
				key, _, _ := strings.Cut(set.Raw, "=")
				if !v.Has(key) {
					at(Warning, "--%s %s: %s has no such key (a key the chart takes, or a typo?)", set.Flag, key, h.Values[0])
				}
			}
		}
		for _, u := range d.Unknown {
			out = append(out, Finding{File: h.Values[0], Line: u.Line, Severity: Error,
				Message: fmt.Sprintf("%s: %s; the exporter the page installs ignores it", u.Path, u.Message)})
		}
		out = append(out, releaseFindings(s, h)...)
	}
	for _, diff := range d.Differences {
		at := diff.Where()
		out = append(out, Finding{File: at.File, Line: at.Line, Severity: Warning,
			Message: fmt.Sprintf("translation %s: claim %s %s: %s", diff.Lang, diff.Key, diff.Kind, diff.Detail)})
	}
	for _, p := range s.Problems {
		out = append(out, Finding{File: p.File, Line: p.Line, Severity: Warning, Message: p.Msg})
	}
	return out
}

// releaseFindings: the page's kubectl get pods of the exporter's namespace
// shows the release's pods, named after it.
func releaseFindings(s *page.Story, h *page.HelmInstall) []Finding {
	var out []Finding
	for _, c := range s.Claims {
		row, ok := c.Expect.(page.PodRow)
		if !ok || !strings.HasPrefix(row.Name, h.Release) {
			continue
		}
		if row.Namespace != h.Namespace {
			out = append(out, Finding{File: c.File, Line: c.Line, Severity: Error, Message: fmt.Sprintf(
				"pod %s of release %s is shown in namespace %s; the page installs the release in %s", row.Name, h.Release, row.Namespace, h.Namespace)})
		}
	}
	return out
}

// planFindings: the checks.yaml merged into the page's plan (--checks, or
// the one beside its scenarios) reads, and the merged plan loads as a run
// would load it.
func planFindings(d *pagecheck.Derived, checks string) []Finding {
	if err := d.Override(checks); err != nil {
		return []Finding{located(cmp.Or(checks, d.Story.File), err)}
	}
	dir, err := os.MkdirTemp("", "eventcheck-lint-")
	if err != nil {
		return []Finding{{File: d.Story.File, Severity: Error, Message: err.Error()}}
	}
	defer os.RemoveAll(dir)
	if _, err := d.Scenario(dir); err != nil {
		return []Finding{{File: d.Story.File, Severity: Error, Message: err.Error()}}
	}
	return nil
}
