package pagecheck

import (
	"fmt"
	"strings"

	"github.com/eventcheck/eventcheck/internal/check"
	"github.com/eventcheck/eventcheck/internal/manifest"
	"github.com/eventcheck/eventcheck/internal/page"
	"github.com/eventcheck/eventcheck/internal/report"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// Judge gives each claim of the page its verdict from the run's results:
// holds when the run showed it (variable parts such as hashes, ages and
// node names match anything); drifted when the same event came with other
// wording (the run's text is a word diff); failed when no such event came;
// skipped, with why, when the claim is about what the story does not
// create or what this version does not judge yet. A translation's claims
// are the original's (claims come from code only); what a translation
// lacks or changed is reported as drifted.
func (d *Derived) Judge(results []check.Result) []report.Claim {
	byName := map[string]check.Result{}
	ran := map[string]bool{}
	applied := map[string][]manifest.Applied{}
	for _, r := range results {
		byName[r.Name] = r
		ran[r.Phase] = true
		if r.Kind == scenario.KindApply {
			applied[r.Phase] = r.Applied
		}
	}
	var out []report.Claim
	for _, c := range d.Story.Claims {
		rc := report.Claim{File: c.File, Line: c.Line, Key: c.Key, Kind: string(c.Kind), Page: c.Text}
		if a, ok := c.Expect.(page.AppliedObject); ok && c.Skip == "" {
			rc.Verdict, rc.Run = appliedVerdict(a, applied[c.Phase], ran[c.Phase])
		} else {
			rc.Verdict, rc.Run = d.verdict(c, byName, ran)
		}
		out = append(out, rc)
	}
	for _, diff := range d.Differences {
		at := diff.Where()
		out = append(out, report.Claim{File: at.File, Line: at.Line, Key: diff.Key, Kind: "translation",
			Verdict: report.Drifted, Page: diff.Detail, Run: fmt.Sprintf("%s: %s (original at %s:%d)", diff.Lang, diff.Kind, diff.Original.File, diff.Original.Line)})
	}
	return out
}

func (d *Derived) verdict(c page.Claim, byName map[string]check.Result, ran map[string]bool) (string, string) {
	if c.Skip != "" {
		return report.Skipped, c.Skip
	}
	step, ok := d.Steps[c.Key]
	if !ok {
		switch e := c.Expect.(type) {
		case page.ProseEvent:
			return report.Skipped, "names no reason: nothing to look for"
		case page.Rise:
			return report.Skipped, fmt.Sprintf("%s documents are never removed, so their count cannot go down; the rise checked is Normal's, which the fix must add to", e.Type)
		}
		return report.Skipped, fmt.Sprintf("%s claims are not judged by this version yet", c.Kind)
	}
	res, ok := byName[step]
	if !ok {
		if !ran[c.Phase] {
			return report.Skipped, fmt.Sprintf("phase %s did not run: an earlier phase failed", c.Phase)
		}
		return report.Skipped, fmt.Sprintf("step %s did not run", step)
	}
	if !res.Passed {
		return report.Failed, res.Detail
	}
	msg := message(c.Expect)
	if msg == "" || len(res.Matched) == 0 {
		return report.Holds, res.Detail
	}
	// Drift is shown against the closest of the event's documents: the
	// same reason on one object can carry several messages (the kubelet's
	// Failed is the pull error, then Error: ErrImagePull).
	var diff string
	best := -1
	for _, doc := range res.Matched {
		holds, dd := page.Compare(msg, doc.Event.Message)
		if holds {
			return report.Holds, doc.Event.Message
		}
		if shared := sharedWords(msg, doc.Event.Message); shared > best {
			best, diff = shared, dd
		}
	}
	return report.Drifted, diff
}

// sharedWords counts the words of a that b has too.
func sharedWords(a, b string) int {
	in := map[string]bool{}
	for _, w := range strings.Fields(b) {
		in[w] = true
	}
	n := 0
	for _, w := range strings.Fields(a) {
		if in[w] {
			n++
		}
	}
	return n
}

// message is what a claim quotes the event as saying.
func message(e page.Expectation) string {
	switch x := e.(type) {
	case page.EventRow:
		return strings.TrimSpace(x.Message)
	case page.ProseEvent:
		return strings.TrimSpace(x.Message)
	}
	return ""
}

// Failed counts the claims that fail a run: failed ones, and drifted ones
// when strict.
func Failed(claims []report.Claim, strict bool) int {
	n := 0
	for _, c := range claims {
		if c.Verdict == report.Failed || (strict && c.Verdict == report.Drifted) {
			n++
		}
	}
	return n
}

// appliedVerdict holds a line of kubectl apply output to what the
// phase's apply did to that object.
func appliedVerdict(a page.AppliedObject, did []manifest.Applied, ran bool) (string, string) {
	if !ran {
		return report.Skipped, "its phase did not run: an earlier phase failed"
	}
	if a.Kind == "" {
		return report.Failed, fmt.Sprintf("the phase applies no %s named %s", a.Resource, a.Name)
	}
	for _, x := range did {
		if x.Kind == a.Kind && x.Name == a.Name && x.Namespace == a.Namespace {
			run := fmt.Sprintf("%s/%s %s", strings.ToLower(x.Kind), x.Name, x.Action)
			if x.Action == a.Action {
				return report.Holds, run
			}
			return report.Failed, run + " (the page says " + a.Action + ")"
		}
	}
	return report.Failed, fmt.Sprintf("the apply did not reach %s %s", a.Kind, a.Name)
}

// Conclude judges the claims into a run's report, with the page's view
// for the HTML report, and says how many fail the run.
func (d *Derived) Conclude(results []check.Result, rep *report.Run, strict bool) int {
	rep.Claims = d.Judge(results)
	if view, err := d.View(rep.Claims); err == nil {
		rep.Page = view
	}
	return Failed(rep.Claims, strict)
}
