// Package page reads a workshop page (Docusaurus markdown) and derives the
// story it tells: the kustomizations it applies in order, the exporter it
// installs with Helm, the dashboard it links, and the claims its code makes
// about what a learner will see. Claims come from code only (code blocks and
// inline code spans), never from prose words, so a page and its translations
// yield the same claims and can be checked against one run.
//
// The package parses and derives; it does not run anything. Matching a
// page's quoted messages against a run's is MessagePattern and Compare,
// and CompareTranslations finds the code a translation changed.
//
// What the story knows of the manifests comes from rendering each applied
// directory with kustomize (the same renderer eventcheck applies with), not
// from a list the caller passes: the workloads a prose claim may name and
// the namespaces a claim may be about are those the page's own phases (and
// its Helm release) create, so the page cannot drift from them unnoticed.
package page

import (
	"fmt"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Error is a problem in a page, located so that its writer can fix it.
// Parse and Derive return the ones that stop them (joined with errors.Join
// when there are several) and keep the others in Page.Problems and
// Story.Problems.
type Error struct {
	File string
	Line int
	Msg  string
	// Err is the cause, when another package found the problem.
	Err error
}

func (e *Error) Error() string {
	msg := e.Msg
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, msg)
	}
	return e.File + ": " + msg
}

func (e *Error) Unwrap() error { return e.Err }

// Page is a parsed workshop page, with every line number that of the file.
type Page struct {
	File string
	// Lang is "" for the original (website/docs/...) and the language of
	// a translation (website/i18n/<lang>/...).
	Lang string
	// Path is the page's path under its docs root, the same for a page and
	// its translations (observability/opensearch/kubernetes-events.md).
	Path  string
	Title string
	// Blocks are the page's bash blocks in page order. Blocks of other
	// languages are only shown to the learner: nothing runs them and no
	// claim comes from them, so they are left out.
	Blocks []Block
	// Prose are the paragraphs, list items and table rows, in page order.
	Prose []Prose
	Links []Link
	// Problems did not stop the parse: an unknown annotation, a line that
	// belongs to no command.
	Problems []*Error
}

// Block is a fenced bash block: what the learner (and the test harness)
// runs, and the sample output the page shows for it.
type Block struct {
	// Line is that of the opening fence.
	Line        int
	Info        string
	Annotations Annotations
	Commands    []Command
}

// DefaultTimeout is the workshop harness's timeout for a block without
// timeout=.
const DefaultTimeout = 120 * time.Second

// Annotations are the key=value words after the language in a block's info
// string (```bash timeout=180 wait=30), which tell the workshop's test
// harness how to run the block.
type Annotations struct {
	Timeout time.Duration // timeout=N seconds; DefaultTimeout when absent
	Wait    time.Duration // wait=N: slept after the block
	// Test is false for test=false: the harness does not run the block.
	Test bool
	// Hook names tests/hook-<Hook>.sh beside the page, run before and
	// after the block.
	Hook string
	// HookTimeout is zero when absent: the harness's own default applies.
	HookTimeout time.Duration
	ExpectError bool
	// Raw is raw=true: the whole block is one script, without $ prompts.
	Raw bool
	// Unknown are the words the harness does not know, kept as written;
	// each is also a problem of the page.
	Unknown []Annotation
}

// Annotation is one word of an info string: key=value, or a bare key.
type Annotation struct {
	Key, Value string
}

// Command is one command of a bash block.
type Command struct {
	// Text is the command as the shell gets it: continuation lines
	// joined with a space, a here-document's body after a newline.
	Text string
	// Line is that of the $ prompt (of the command's first line in a raw
	// block).
	Line int
	// Output is the sample output the page shows, blank lines left out.
	Output []Line
}

// Line is one line of a page.
type Line struct {
	Text string
	Line int
}

// ProseKind says what sort of prose unit a Prose is.
type ProseKind string

// Prose kinds.
const (
	Paragraph ProseKind = "paragraph"
	ListItem  ProseKind = "list-item"
	TableRow  ProseKind = "table-row"
)

// Prose is one unit of prose: a paragraph, a list item (without its nested
// lists, which are units of their own) or a table row.
type Prose struct {
	Kind ProseKind
	Line int
	// Admonition is the kind of the :::tip (:::info, :::caution, ...)
	// the unit is inside, "" when it is not inside one.
	Admonition string
	// Text is the plain text, code spans included without backquotes.
	Text string
	Code []CodeSpan
}

// CodeSpan is an inline `code span`.
type CodeSpan struct {
	Text string
	Line int
}

// Link is a link or an autolink in prose.
type Link struct {
	URL  string
	Line int
}

// i18nPath is where Docusaurus keeps a translation of a docs page.
var i18nPath = regexp.MustCompile(`(?:^|/)website/i18n/([^/]+)/docusaurus-plugin-content-docs/current/(.+)$`)

// docsPath is where the original pages are.
var docsPath = regexp.MustCompile(`(?:^|/)website/docs/(.+)$`)

// pathLang finds the language and the docs-relative path of a page from
// where it is in the workshop repository.
func pathLang(file string) (lang, rel string) {
	slash := filepath.ToSlash(file)
	if m := i18nPath.FindStringSubmatch(slash); m != nil {
		return m[1], m[2]
	}
	if m := docsPath.FindStringSubmatch(slash); m != nil {
		return "", m[1]
	}
	return "", filepath.Base(slash)
}

// lineIndex holds where each line of a source starts, to turn the byte
// offsets goldmark gives into the line numbers people read.
type lineIndex []int

func newLineIndex(src []byte) lineIndex {
	starts := lineIndex{0}
	for i, b := range src {
		if b == '\n' {
			starts = append(starts, i+1)
		}
	}
	return starts
}

func (ix lineIndex) line(offset int) int {
	if offset < 0 {
		return 0
	}
	// The line of an offset is the number of line starts at or before it.
	return sort.Search(len(ix), func(i int) bool { return ix[i] > offset })
}

func trimEOL(s string) string {
	return strings.TrimRight(s, "\r\n")
}
