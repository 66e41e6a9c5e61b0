package pagecheck

import (
	"strings"
	"testing"

	"github.com/eventcheck/eventcheck/internal/report"
)

// The page view is the page rendered, each claim after the block it
// stands in (by the page's line), none lost.
func TestViewPlacesEachClaimInItsBlock(t *testing.T) {
	d, err := Load([]string{original}, manifests, "")
	if err != nil {
		t.Fatal(err)
	}
	var claims []report.Claim
	for _, c := range d.Story.Claims {
		claims = append(claims, report.Claim{File: c.File, Line: c.Line, Key: c.Key, Verdict: report.Holds, Page: c.Text})
	}
	v, err := d.View(claims)
	if err != nil {
		t.Fatal(err)
	}
	placed := 0
	for _, b := range v.Blocks {
		for _, c := range b.Claims {
			placed++
			// Each claim's text is in the block it is placed after.
			words := strings.Fields(strings.Trim(c.Page, "`"))
			if len(words) > 0 && !strings.Contains(string(b.HTML), strings.Trim(words[0], "`")) {
				t.Errorf("claim at line %d (%q) placed after a block without it:\n%s", c.Line, words[0], b.HTML)
			}
		}
		if strings.Contains(string(b.HTML), "sidebar_position") {
			t.Errorf("front matter rendered: %s", b.HTML)
		}
	}
	if placed != len(claims) {
		t.Fatalf("%d of %d claims placed", placed, len(claims))
	}
}
