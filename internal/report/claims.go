package report

import (
	"fmt"
	"html/template"
	"io"
	"text/tabwriter"
)

// Verdicts of a page's claim.
const (
	Holds   = "holds"
	Drifted = "drifted"
	Failed  = "failed"
	Skipped = "skipped"
)

// Claim is one thing a workshop page says a learner will see, with what
// the run showed.
type Claim struct {
	File    string `json:"file"`
	Line    int    `json:"line"`
	Key     string `json:"key"`
	Kind    string `json:"kind"`
	Verdict string `json:"verdict"`
	// Page is the page's text; Run what the run showed (a message, a word
	// diff for drift) or why the claim was skipped or failed.
	Page string `json:"page"`
	Run  string `json:"run"`
}

// ClaimSummary writes the claims a person reviewing the page reads, each
// at the page's file:line.
func ClaimSummary(w io.Writer, claims []Claim) {
	if len(claims) == 0 {
		return
	}
	count := map[string]int{}
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "CLAIM\tVERDICT\tPAGE\tRUN")
	for _, c := range claims {
		count[c.Verdict]++
		fmt.Fprintf(tw, "%s:%d\t%s\t%s\t%s\n", c.File, c.Line, c.Verdict, oneLine(c.Page, 60), oneLine(c.Run, 90))
	}
	tw.Flush()
	fmt.Fprintf(w, "claims: %d hold, %d drifted, %d failed, %d skipped\n", count[Holds], count[Drifted], count[Failed], count[Skipped])
}

// claimSuite is the page's claims as JUnit: one case per claim, failed
// ones failing, drifted ones failing only under strict, skipped ones
// skipped.
func claimSuite(r *Run) junitSuite {
	s := junitSuite{Name: r.Scenario + "/claims"}
	for _, c := range r.Claims {
		jc := junitCase{Name: fmt.Sprintf("%s:%d %s", c.File, c.Line, c.Key), Classname: r.Scenario + ".claims"}
		switch {
		case c.Verdict == Failed || (c.Verdict == Drifted && r.Strict):
			jc.Failure = &junitFailure{Message: oneLine(c.Verdict+": "+c.Run, 200), Text: "page: " + c.Page + "\nrun: " + c.Run}
			s.Failures++
		case c.Verdict == Skipped:
			jc.Skipped = &junitSkipped{Message: c.Run}
		}
		s.Tests++
		s.Cases = append(s.Cases, jc)
	}
	return s
}

// PageView is a workshop page rendered block by block, each block with
// the claims it makes.
type PageView struct {
	File   string
	Blocks []PageBlock
}

// PageBlock is one rendered block of a page and its claims' verdicts.
type PageBlock struct {
	HTML   template.HTML
	Claims []Claim
}
