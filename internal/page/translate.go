package page

import (
	"fmt"
	"reflect"
)

// DifferenceKind says how a translation's claim differs from the original's.
type DifferenceKind string

// Difference kinds.
const (
	// Missing: the original has the claim, the translation does not.
	Missing DifferenceKind = "missing"
	// Added: the translation has a claim the original does not.
	Added DifferenceKind = "added"
	// Changed: both have the key, with other page text or expectation.
	Changed DifferenceKind = "changed"
)

// Difference is one claim on which a translation and its original part.
// A faithful translation keeps every code block and code span, so it has
// none: each is code that was dropped, added or edited in translating.
type Difference struct {
	Kind DifferenceKind
	Key  string
	Lang string
	// Original and Translation are where the claim is in each; a zero
	// Location is a page without it.
	Original    Location
	Translation Location
	// Detail says what changed: the two texts, or the two expectations.
	Detail string
}

// Location is a line of a page.
type Location struct {
	File string
	Line int
}

// Where is the line a report points at: the translation's, or the
// original's for a claim the translation lacks.
func (d Difference) Where() Location {
	if d.Translation.File == "" {
		return d.Original
	}
	return d.Translation
}

func (d Difference) String() string {
	at := func(l Location) string {
		if l.File == "" {
			return "-"
		}
		return fmt.Sprintf("%s:%d", l.File, l.Line)
	}
	s := fmt.Sprintf("%s %s (%s): original %s, translation %s", d.Kind, d.Key, d.Lang, at(d.Original), at(d.Translation))
	if d.Detail != "" {
		s += ": " + d.Detail
	}
	return s
}

// CompareTranslations compares each translation's claims with the
// original's by key: a claim the translation lacks, one it has in
// addition, and one whose page text, expectation or skip differs. The
// differences come per translation, in the original's claim order, then
// the added ones in the translation's.
func CompareTranslations(original *Story, translations ...*Story) []Difference {
	var out []Difference
	for _, t := range translations {
		theirs := map[string]*Claim{}
		for i := range t.Claims {
			theirs[t.Claims[i].Key] = &t.Claims[i]
		}
		ours := map[string]bool{}
		for i := range original.Claims {
			o := &original.Claims[i]
			ours[o.Key] = true
			d := Difference{Key: o.Key, Lang: t.Lang, Original: Location{o.File, o.Line}}
			tc, ok := theirs[o.Key]
			if !ok {
				d.Kind, d.Detail = Missing, fmt.Sprintf("the translation does not have %q", o.Text)
				out = append(out, d)
				continue
			}
			d.Translation = Location{tc.File, tc.Line}
			switch {
			case o.Text != tc.Text:
				d.Kind, d.Detail = Changed, fmt.Sprintf("page text %q, translated %q", o.Text, tc.Text)
			case !reflect.DeepEqual(o.Expect, tc.Expect):
				d.Kind, d.Detail = Changed, fmt.Sprintf("expects %+v, translated %+v", o.Expect, tc.Expect)
			case o.Skip != tc.Skip:
				d.Kind, d.Detail = Changed, fmt.Sprintf("skipped %q, translated %q", o.Skip, tc.Skip)
			default:
				continue
			}
			out = append(out, d)
		}
		for _, tc := range t.Claims {
			if !ours[tc.Key] {
				out = append(out, Difference{Kind: Added, Key: tc.Key, Lang: t.Lang, Translation: Location{tc.File, tc.Line},
					Detail: fmt.Sprintf("the original does not have %q", tc.Text)})
			}
		}
	}
	return out
}
