package pagecheck

import (
	"bytes"
	"html/template"
	"os"
	"strings"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/text"

	"github.com/eventcheck/eventcheck/internal/report"
)

// View is the original page rendered block by block, each block followed
// by the verdicts of the claims it makes: the page as a reviewer reads
// it, with the run's word beside each claim.
func (d *Derived) View(claims []report.Claim) (*report.PageView, error) {
	src, err := os.ReadFile(d.Story.File)
	if err != nil {
		return nil, err
	}
	src = blankFrontMatter(src)
	md := goldmark.New() // raw HTML in the page is left out, as goldmark does by default
	doc := md.Parser().Parse(text.NewReader(src))
	view := &report.PageView{File: d.Story.File}
	placed := map[int]bool{}
	for n := doc.FirstChild(); n != nil; n = n.NextSibling() {
		first, last := lineRange(n, src)
		var b bytes.Buffer
		if err := md.Renderer().Render(&b, src, n); err != nil {
			return nil, err
		}
		block := report.PageBlock{HTML: template.HTML(b.String())} // #nosec G203 -- goldmark's escaping, raw HTML off
		for i, c := range claims {
			if c.File == d.Story.File && !placed[i] && c.Line >= first && c.Line <= last {
				block.Claims = append(block.Claims, c)
				placed[i] = true
			}
		}
		view.Blocks = append(view.Blocks, block)
	}
	return view, nil
}

// lineRange is the first and last line (1-based) of a block's source,
// over its own lines and its children's.
func lineRange(n ast.Node, src []byte) (first, last int) {
	first = -1
	_ = ast.Walk(n, func(c ast.Node, entering bool) (ast.WalkStatus, error) {
		if !entering || c.Type() != ast.TypeBlock {
			return ast.WalkContinue, nil
		}
		lines := c.Lines()
		for i := 0; i < lines.Len(); i++ {
			seg := lines.At(i)
			l := bytes.Count(src[:seg.Start], []byte("\n")) + 1
			if first < 0 || l < first {
				first = l
			}
			last = max(last, l)
		}
		return ast.WalkContinue, nil
	})
	if fc, ok := n.(*ast.FencedCodeBlock); ok && fc.Info != nil {
		// The opening fence is the line above the first content line.
		first = bytes.Count(src[:fc.Info.Segment.Start], []byte("\n")) + 1
	}
	return first, last
}

// blankFrontMatter keeps the lines (so numbers stay the file's) but not
// the text of the front matter block.
func blankFrontMatter(src []byte) []byte {
	s := string(src)
	if !strings.HasPrefix(s, "---\n") {
		return src
	}
	end := strings.Index(s[4:], "\n---\n")
	if end < 0 {
		return src
	}
	head := s[:4+end+5]
	return []byte(strings.Repeat("\n", strings.Count(head, "\n")) + s[4+end+5:])
}
