package pagecheck

import (
	"fmt"
	"strings"

	"github.com/eventcheck/eventcheck/internal/check"
	"github.com/eventcheck/eventcheck/internal/page"
	"github.com/eventcheck/eventcheck/internal/report"
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
	for _, r := range results {
		byName[r.Name] = r
		ran[r.Phase] = true
	}
	var out []report.Claim
	for _, c := range d.Story.Claims {
		rc := report.Claim{File: c.File, Line: c.Line, Key: c.Key, Kind: string(c.Kind), Page: c.Text}
		rc.Verdict, rc.Run = d.verdict(c, byName, ran)
		out = append(out, rc)
	}
	for _, diff := range d.Differences {
		at := diff.Translation
		if at.File == "" { // a claim the translation lacks: at the original's
			at = diff.Original
		}
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
	var diff string
	for _, doc := range res.Matched {
		holds, dd := page.Compare(msg, doc.Event.Message)
		if holds {
			return report.Holds, doc.Event.Message
		}
		if diff == "" {
			diff = dd
		}
	}
	return report.Drifted, diff
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
