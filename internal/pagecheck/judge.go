package pagecheck

import (
	"encoding/json"
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
	applies := map[string]check.Result{}
	for _, r := range results {
		byName[r.Name] = r
		ran[r.Phase] = true
		if r.Kind == scenario.KindApply {
			applied[r.Phase], applies[r.Phase] = r.Applied, r
		}
	}
	var out []report.Claim
	for _, c := range d.Story.Claims {
		rc := report.Claim{File: c.File, Line: c.Line, Key: c.Key, Kind: string(c.Kind), Page: c.Text}
		switch e := c.Expect.(type) {
		case page.AppliedObject:
			if c.Skip == "" {
				rc.Verdict, rc.Run = appliedVerdict(e, applied[c.Phase], ran[c.Phase])
				break
			}
			rc.Verdict, rc.Run = d.verdict(c, byName, ran)
		case page.ExpectedError:
			rc.Verdict, rc.Run = expectedErrorVerdict(c, e, applies)
		default:
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
	switch e := c.Expect.(type) {
	case page.PodRow:
		return podVerdict(e, res)
	case page.EventDocument:
		return documentVerdict(e, res)
	}
	return messageVerdict(c.Expect, res)
}

// messageVerdict holds an event claim's message to the closest document
// of the event.
func messageVerdict(e page.Expectation, res check.Result) (string, string) {
	msg := message(e)
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
	case page.EventDocument:
		return strings.TrimSpace(x.Message)
	}
	return ""
}

// podVerdict: the row holds when one of the workload's pods showed its
// READY and STATUS while the phase's checks waited, and drifted when they
// showed others only.
func podVerdict(e page.PodRow, res check.Result) (string, string) {
	for _, s := range res.Seen {
		ready, status, _ := strings.Cut(s, " ")
		if (e.Ready == "" || e.Ready == ready) && (e.Status == "" || e.Status == status) {
			return report.Holds, fmt.Sprintf("%s pod: %s", e.NamePrefix, s)
		}
	}
	return report.Drifted, fmt.Sprintf("%s pods showed %s, never %s", e.NamePrefix, strings.Join(res.Seen, ", "), strings.TrimSpace(e.Ready+" "+e.Status))
}

// documentVerdict holds a JSON sample of an event to the event's
// documents: its message as any event claim's, and every field it shows
// present on the closest document with a value of the same kind. A field
// the documents lack, or hold as another kind, is drift: the event is
// there, in another shape than the page shows.
func documentVerdict(e page.EventDocument, res check.Result) (string, string) {
	verdict, run := messageVerdict(e, res)
	var best []string
	for i, doc := range res.Matched {
		if off := fieldsOff(e, doc.Source); i == 0 || len(off) < len(best) {
			best = off
		}
	}
	if len(best) == 0 {
		return verdict, run
	}
	return report.Drifted, run + "; the documents differ from the page's JSON: " + strings.Join(best, "; ")
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

// fieldsOff lists how a document departs from the fields a sample shows:
// a field it lacks, or holds as another kind of value. A sample's null
// takes any value (the page shows an empty field the document may fill).
// The apiVersion and kind kubectl adds to each object it lists are not
// the event's: an exporter gets events without them, as every watch does.
func fieldsOff(e page.EventDocument, source json.RawMessage) []string {
	var doc map[string]any
	if err := json.Unmarshal(source, &doc); err != nil {
		return []string{"the document is not a JSON object"}
	}
	have := map[string]page.JSONKind{}
	for _, f := range page.Fields(doc) {
		have[f.Path] = f.Kind
	}
	var missing, other []string
	for _, f := range e.Fields {
		if e.Kubectl && (f.Path == "apiVersion" || f.Path == "kind") {
			continue
		}
		k, ok := have[f.Path]
		switch {
		case !ok:
			missing = append(missing, f.Path)
		case f.Kind != page.JSONNull && k != f.Kind:
			other = append(other, fmt.Sprintf("%s is %s %s where the page shows %s %s", f.Path, article(k), k, article(f.Kind), f.Kind))
		}
	}
	var out []string
	if len(missing) > 0 {
		out = append(out, "no "+strings.Join(missing, ", "))
	}
	return append(out, other...)
}

func article(k page.JSONKind) string {
	if k == page.JSONObject || k == page.JSONArray {
		return "an"
	}
	return "a"
}

// expectedErrorVerdict: a command the page expects to fail holds when it
// did: its apply refused, or its kustomization not rendering.
func expectedErrorVerdict(c page.Claim, e page.ExpectedError, applies map[string]check.Result) (string, string) {
	switch {
	case c.Skip != "":
		return report.Skipped, c.Skip
	case e.Refused != "":
		return report.Holds, "kustomize cannot render it: " + e.Refused
	}
	res, ok := applies[e.Phase]
	if !ok {
		return report.Skipped, fmt.Sprintf("phase %s did not run: an earlier phase failed", e.Phase)
	}
	if res.Passed {
		return report.Holds, res.Detail
	}
	return report.Failed, res.Detail
}
