package page

import (
	"bytes"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/yuin/goldmark"
	"github.com/yuin/goldmark/ast"
	"github.com/yuin/goldmark/extension"
	east "github.com/yuin/goldmark/extension/ast"
	"github.com/yuin/goldmark/text"
	"go.yaml.in/yaml/v3"
)

// Parse reads a page. file is where the page is in the workshop repository
// (its language comes from that path) and names the page in every error.
// The front matter is read for the title and blanked before goldmark sees
// it, so that every line number stays that of the file.
func Parse(file string, src []byte) (*Page, error) {
	lang, rel := pathLang(file)
	p := &Page{File: file, Lang: lang, Path: rel}
	body, title, err := frontMatter(file, src)
	if err != nil {
		return nil, err
	}
	p.Title = title
	r := &reader{page: p, src: body, lines: newLineIndex(body)}
	// GFM, so that a table is rows of cells (each row a prose unit)
	// rather than one paragraph, and bare URLs are links.
	md := goldmark.New(goldmark.WithExtensions(extension.GFM))
	doc := md.Parser().Parse(text.NewReader(body))
	if err := ast.Walk(doc, r.visit); err != nil {
		return nil, err
	}
	if len(r.fatal) > 0 {
		return nil, errors.Join(r.fatal...)
	}
	return p, nil
}

// frontMatter returns src with its front matter (--- ... --- at the top)
// turned into blank lines, and the title it gives.
func frontMatter(file string, src []byte) ([]byte, string, error) {
	if !bytes.HasPrefix(src, []byte("---\n")) && !bytes.HasPrefix(src, []byte("---\r\n")) {
		return src, "", nil
	}
	first := bytes.IndexByte(src, '\n') + 1
	end := -1
	for at := first; at < len(src); {
		next := bytes.IndexByte(src[at:], '\n')
		stop := len(src)
		if next >= 0 {
			stop = at + next + 1
		}
		if string(bytes.TrimRight(src[at:stop], "\r\n")) == "---" {
			end = stop
			break
		}
		at = stop
	}
	if end < 0 {
		return nil, "", &Error{File: file, Line: 1, Msg: "the front matter that opens the page is never closed with ---"}
	}
	var fm struct {
		Title string `yaml:"title"`
	}
	closing := bytes.LastIndex(src[:end-1], []byte("\n")) + 1
	if err := yaml.Unmarshal(src[first:closing], &fm); err != nil {
		return nil, "", &Error{File: file, Line: 2, Msg: "the front matter is not YAML", Err: err}
	}
	out := bytes.Clone(src)
	for i := range end {
		if out[i] != '\n' && out[i] != '\r' {
			out[i] = ' '
		}
	}
	return out, fm.Title, nil
}

// reader turns goldmark's tree into a Page.
type reader struct {
	page  *Page
	src   []byte
	lines lineIndex
	// admonition is the kind of the :::kind the walk is inside, "" when
	// outside any.
	admonition string
	fatal      []error
}

func (r *reader) problem(line int, format string, args ...any) {
	r.page.Problems = append(r.page.Problems, &Error{File: r.page.File, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (r *reader) visit(n ast.Node, entering bool) (ast.WalkStatus, error) {
	if !entering {
		return ast.WalkContinue, nil
	}
	switch n := n.(type) {
	case *ast.FencedCodeBlock:
		r.block(n)
		return ast.WalkSkipChildren, nil
	case *ast.Link:
		r.page.Links = append(r.page.Links, Link{URL: string(n.Destination), Line: r.line(n)})
	case *ast.AutoLink:
		r.page.Links = append(r.page.Links, Link{URL: string(n.URL(r.src)), Line: r.line(n)})
	case *ast.ListItem:
		r.listItem(n)
	case *east.TableRow:
		r.addProse(TableRow, r.line(n), n)
	case *ast.Paragraph:
		// A list item's paragraphs are read with the item.
		if !inside(n, ast.KindListItem) {
			r.paragraph(n)
		}
	}
	return ast.WalkContinue, nil
}

// line is the line a node starts on, from its own position or, for nodes
// goldmark does not place, from its first child that it does.
func (r *reader) line(n ast.Node) int {
	if pos := n.Pos(); pos >= 0 {
		return r.lines.line(pos)
	}
	if t, ok := n.(*ast.Text); ok {
		return r.lines.line(t.Segment.Start)
	}
	if n.Type() == ast.TypeBlock && n.Lines().Len() > 0 {
		return r.lines.line(n.Lines().At(0).Start)
	}
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if l := r.line(c); l > 0 {
			return l
		}
	}
	return 0
}

func inside(n ast.Node, kind ast.NodeKind) bool {
	for p := n.Parent(); p != nil; p = p.Parent() {
		if p.Kind() == kind {
			return true
		}
	}
	return false
}

var (
	admonitionOpen  = regexp.MustCompile(`^:{3,}([A-Za-z]+)`)
	admonitionClose = regexp.MustCompile(`^:{3,}\s*$`)
)

// paragraph is a prose unit, or the opening or closing line of an
// admonition. goldmark does not know Docusaurus admonitions: it sees
// ":::tip" as the first line of a paragraph (with the body in the same
// paragraph when no blank line follows) and ":::" as the last line of
// the paragraph that closes it, or a paragraph of its own.
func (r *reader) paragraph(n *ast.Paragraph) {
	lines := n.Lines()
	if lines.Len() == 0 {
		return
	}
	firstSeg, lastSeg := lines.At(0), lines.At(lines.Len()-1)
	first := strings.TrimSpace(string(firstSeg.Value(r.src)))
	last := strings.TrimSpace(string(lastSeg.Value(r.src)))
	opens := admonitionOpen.FindStringSubmatch(first)
	closes := admonitionClose.MatchString(last) && (opens == nil || lines.Len() > 1)
	line := r.line(n)
	if opens != nil {
		r.admonition = strings.ToLower(opens[1])
		if lines.Len() > 1 {
			line = r.lines.line(lines.At(1).Start)
		}
	}
	r.addProse(Paragraph, line, n)
	if closes {
		r.admonition = ""
	}
}

// listItem is a prose unit made of the item's own paragraphs: its nested
// lists are units of their own, and its code blocks are blocks.
func (r *reader) listItem(n *ast.ListItem) {
	var parts []ast.Node
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		if c.Kind() == ast.KindParagraph || c.Kind() == ast.KindTextBlock {
			parts = append(parts, c)
		}
	}
	r.addProse(ListItem, r.line(n), parts...)
}

// addProse adds a unit made of the inline content of nodes. The lines of an
// admonition's fences (:::tip, :::) are not prose and are dropped.
func (r *reader) addProse(kind ProseKind, line int, nodes ...ast.Node) {
	var buf strings.Builder
	var code []CodeSpan
	for i, n := range nodes {
		if i > 0 {
			buf.WriteString("\n")
		}
		r.inline(n, &buf, &code)
	}
	var kept []string
	for _, l := range strings.Split(buf.String(), "\n") {
		t := strings.TrimSpace(l)
		if admonitionOpen.MatchString(t) || admonitionClose.MatchString(t) {
			continue
		}
		kept = append(kept, l)
	}
	plain := strings.TrimSpace(strings.Join(kept, "\n"))
	if plain == "" && len(code) == 0 {
		return
	}
	r.page.Prose = append(r.page.Prose, Prose{Kind: kind, Line: line, Admonition: r.admonition, Text: plain, Code: code})
}

// inline writes the plain text of n's inline content and collects its code
// spans.
func (r *reader) inline(n ast.Node, buf *strings.Builder, code *[]CodeSpan) {
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			buf.Write(c.Segment.Value(r.src))
			if c.SoftLineBreak() || c.HardLineBreak() {
				buf.WriteString("\n")
			}
		case *ast.String:
			buf.Write(c.Value)
		case *ast.CodeSpan:
			s := r.codeSpan(c)
			buf.WriteString(s)
			*code = append(*code, CodeSpan{Text: s, Line: r.line(c)})
		case *ast.AutoLink:
			buf.Write(c.Label(r.src))
		case *ast.RawHTML:
		case *east.TableCell:
			if c.PreviousSibling() != nil {
				buf.WriteString(" | ")
			}
			r.inline(c, buf, code)
		default:
			r.inline(c, buf, code)
		}
	}
}

// codeSpan is the text of a code span; a line ending inside it is a space,
// as CommonMark says.
func (r *reader) codeSpan(n *ast.CodeSpan) string {
	var b strings.Builder
	for c := n.FirstChild(); c != nil; c = c.NextSibling() {
		switch c := c.(type) {
		case *ast.Text:
			b.Write(c.Segment.Value(r.src))
		case *ast.String:
			b.Write(c.Value)
		}
	}
	return strings.ReplaceAll(strings.ReplaceAll(b.String(), "\r\n", " "), "\n", " ")
}

// block reads a fenced code block; only bash blocks are kept.
func (r *reader) block(n *ast.FencedCodeBlock) {
	info := ""
	if n.Info != nil {
		info = strings.TrimSpace(string(n.Info.Segment.Value(r.src)))
	}
	words := strings.Fields(info)
	if len(words) == 0 || words[0] != "bash" {
		return
	}
	b := Block{Line: r.line(n), Info: info}
	ann, errs := r.annotations(b.Line, words[1:])
	if len(errs) > 0 {
		r.fatal = append(r.fatal, errs...)
		return
	}
	b.Annotations = ann
	var lines []Line
	segs := n.Lines()
	for i := range segs.Len() {
		seg := segs.At(i)
		lines = append(lines, Line{Text: trimEOL(string(seg.Value(r.src))), Line: r.lines.line(seg.Start)})
	}
	b.Commands = r.commands(b, lines)
	r.page.Blocks = append(r.page.Blocks, b)
}

// annotations reads the words after bash, as the workshop harness does,
// except that a value it would quietly misread (timeout=abc) is an error.
func (r *reader) annotations(line int, words []string) (Annotations, []error) {
	a := Annotations{Timeout: DefaultTimeout, Test: true}
	var errs []error
	bad := func(key, value, want string) {
		errs = append(errs, &Error{File: r.page.File, Line: line, Msg: fmt.Sprintf("annotation %s=%q: want %s", key, value, want)})
	}
	seconds := func(key, value string, d *time.Duration, min int) {
		n, err := strconv.Atoi(value)
		if err != nil || n < min {
			bad(key, value, fmt.Sprintf("a whole number of seconds, at least %d", min))
			return
		}
		*d = time.Duration(n) * time.Second
	}
	boolean := func(key, value string, b *bool) {
		v, err := strconv.ParseBool(value)
		if err != nil || (value != "true" && value != "false") {
			bad(key, value, "true or false")
			return
		}
		*b = v
	}
	for _, w := range words {
		key, value, hasValue := strings.Cut(w, "=")
		if !hasValue {
			a.Unknown = append(a.Unknown, Annotation{Key: key})
			r.problem(line, "annotation %q is not key=value: the workshop harness ignores it", w)
			continue
		}
		switch key {
		case "timeout":
			seconds(key, value, &a.Timeout, 1)
		case "wait":
			seconds(key, value, &a.Wait, 0)
		case "hookTimeout":
			seconds(key, value, &a.HookTimeout, 1)
		case "test":
			boolean(key, value, &a.Test)
		case "expectError":
			boolean(key, value, &a.ExpectError)
		case "raw":
			boolean(key, value, &a.Raw)
		case "hook":
			if value == "" {
				bad(key, value, "a hook name (tests/hook-NAME.sh)")
			}
			a.Hook = value
		default:
			a.Unknown = append(a.Unknown, Annotation{Key: key, Value: value})
			r.problem(line, "unknown annotation %s: the workshop harness ignores it", w)
		}
	}
	return a, errs
}
