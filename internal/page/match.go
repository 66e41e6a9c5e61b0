package page

import (
	"regexp"
	"strings"
	"unicode"

	"github.com/sergi/go-diff/diffmatchpatch"
)

// variablePart is one sort of text in an event message that differs from
// run to run while the message says the same: the page was written on
// another cluster, at another time.
type variablePart struct {
	name string
	re   string
	// pattern is what the part becomes in a MessagePattern; $1 is the
	// part's first group, kept literally (a workload's name).
	pattern string
	// placeholder stands for the part in a word diff, so that only the
	// words that changed show; $1 as in pattern.
	placeholder string
}

// variableParts are tried in this order at each position of a message.
var variableParts = []variablePart{
	{"time", `\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2})|\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(?:\.\d+)? [+-]\d{4} [A-Z]+`,
		`\d{4}-\d{2}-\d{2}[T ][0-9:.]+(?:Z|[+-]\d{2}:?\d{2}(?: [A-Z]+)?)`, "<time>"},
	{"uid", `\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b`, `[0-9a-f-]{36}`, "<uid>"},
	{"digest", `\bsha256:[0-9a-f]+`, `sha256:[0-9a-f]+`, "sha256:<digest>"},
	{"node", `\bip-\d{1,3}(?:-\d{1,3}){3}(?:\.[a-z0-9-]+)*|\bi-[0-9a-f]{8,17}(?:\.[a-z0-9-]+)*|\b[a-z0-9-]+\.(?:compute|ec2)\.internal\b|\bnode-\d+\b|\b[a-z0-9]+(?:-[a-z0-9]+)*-(?:worker\d*|control-plane)\b`,
		`[A-Za-z0-9.-]+`, "<node>"},
	{"ip", `\b\d{1,3}(?:\.\d{1,3}){3}(?::\d+)?\b`, `[0-9.]+(?::\d+)?`, "<ip>"},
	// A generated name (pod, ReplicaSet, event): the owner's name stays.
	{"generated", `\b([a-z0-9](?:[-a-z0-9]*?[a-z0-9])?)(?:-` + hashAlphabet + `{6,10}-` + hashAlphabet + `{5}|-` + hashAlphabet + `{6,10}|-` + hashAlphabet + `{5})\b`,
		`$1(?:-[a-z0-9]+){1,2}`, "$1-<hash>"},
	{"event-name", `\.[0-9a-f]{12,16}\b`, `\.[0-9a-f]+`, ".<hash>"},
	{"age", `<unknown>|\b\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d)(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))*\b`,
		`(?:<unknown>|[0-9][0-9.a-zµ]*)`, "<age>"},
	// resourceVersions and other long counters.
	{"number", `\b\d{6,}\b`, `\d+`, "<n>"},
	{"cut", `\.\.\.|…`, `.*`, "…"},
}

// schedulerCount: the scheduler counts nodes ("0/3 nodes are available:
// 3 Insufficient cpu"), and a run's cluster has its own number of them.
var schedulerCount = variablePart{"count", `\b\d+\b`, `\d+`, "<n>"}

var (
	messageParts   = compileParts(variableParts)
	schedulerParts = compileParts(append(append([]variablePart{}, variableParts...), schedulerCount))
)

type compiledParts struct {
	re    *regexp.Regexp
	parts []variablePart
	// groups holds, for each part, the index of its whole-match group.
	groups []int
}

func compileParts(parts []variablePart) compiledParts {
	alts := make([]string, len(parts))
	for i, p := range parts {
		alts[i] = "(" + p.re + ")"
	}
	re := regexp.MustCompile(strings.Join(alts, "|"))
	c := compiledParts{re: re, parts: parts}
	group := 1
	for _, p := range parts {
		c.groups = append(c.groups, group)
		group += 1 + regexp.MustCompile(p.re).NumSubexp()
	}
	return c
}

func partsFor(message string) compiledParts {
	if strings.Contains(message, "nodes are available") {
		return schedulerParts
	}
	return messageParts
}

// piece is a message cut into literal text and variable parts.
type piece struct {
	text string
	// part is nil for literal text.
	part *variablePart
	// kept is the part's first group ($1), "" when it has none.
	kept string
}

func split(message string) []piece {
	c := partsFor(message)
	var out []piece
	at := 0
	for _, m := range c.re.FindAllStringSubmatchIndex(message, -1) {
		if m[0] > at {
			out = append(out, piece{text: message[at:m[0]]})
		}
		for i, g := range c.groups {
			if m[2*g] < 0 {
				continue
			}
			p := &c.parts[i]
			pc := piece{text: message[m[0]:m[1]], part: p}
			if sub := g + 1; strings.Contains(p.pattern, "$1") && m[2*sub] >= 0 {
				pc.kept = message[m[2*sub]:m[2*sub+1]]
			}
			out = append(out, pc)
			break
		}
		at = m[1]
	}
	if at < len(message) {
		out = append(out, piece{text: message[at:]})
	}
	return out
}

var space = regexp.MustCompile(`\s+`)

// MessagePattern turns a message a page quotes into a pattern a run's
// message must match: the parts that differ between clusters and times
// (pod and ReplicaSet hashes, node names, IPs, ages and durations, RFC 3339
// times, UIDs, resourceVersions, digests, the scheduler's node counts)
// match any value of their sort, a ... cut matches anything, runs of white
// space match any white space, and a sentence's closing full stop, which
// prose adds, is optional. Everything else must be there as written.
func MessagePattern(pageMessage string) *regexp.Regexp {
	msg := strings.TrimSpace(pageMessage)
	pieces := split(msg)
	var b strings.Builder
	b.WriteString(`^\s*`)
	for i, p := range pieces {
		if p.part == nil {
			lit := p.text
			stop := false
			if i == len(pieces)-1 && strings.HasSuffix(lit, ".") {
				lit, stop = strings.TrimSuffix(lit, "."), true
			}
			for j, w := range space.Split(lit, -1) {
				if j > 0 {
					b.WriteString(`\s+`)
				}
				b.WriteString(regexp.QuoteMeta(w))
			}
			if stop {
				b.WriteString(`\.?`)
			}
			continue
		}
		b.WriteString(strings.ReplaceAll(p.part.pattern, "$1", regexp.QuoteMeta(p.kept)))
	}
	b.WriteString(`\s*$`)
	return regexp.MustCompile(b.String())
}

// word is a word of a message for the diff: norm compares, text shows.
type word struct {
	norm, text string
	// glued is a word with no space before it: punctuation that closed
	// the word before, or a cut.
	glued bool
}

// closingPunctuation ends a word and is a word of its own in a diff, so
// that "latest": and "latest"... share the word "latest".
const closingPunctuation = ":,;.!?)"

// words cuts a message into words at white space, each variable part
// standing, for the comparison, as a placeholder of its sort (a pod name in
// test/scenario-a-6d988b8d84-x7k2p stays part of its word).
func words(message string) []word {
	var out []word
	var norm, text strings.Builder
	glued := false
	flush := func() {
		n, t := norm.String(), text.String()
		norm.Reset()
		text.Reset()
		if t == "" {
			return
		}
		var tail []word
		for len(t) > 1 && strings.ContainsRune(closingPunctuation, rune(t[len(t)-1])) && len(n) > 1 && n[len(n)-1] == t[len(t)-1] {
			p := t[len(t)-1:]
			tail = append([]word{{norm: p, text: p, glued: true}}, tail...)
			n, t = n[:len(n)-1], t[:len(t)-1]
		}
		out = append(out, word{norm: n, text: t, glued: glued})
		out = append(out, tail...)
		glued = true
	}
	for _, p := range split(strings.TrimSpace(message)) {
		switch {
		case p.part == nil:
			for _, r := range p.text {
				if unicode.IsSpace(r) {
					flush()
					glued = false
					continue
				}
				norm.WriteRune(r)
				text.WriteRune(r)
			}
		case p.part.name == "cut":
			flush()
			out = append(out, word{norm: p.part.placeholder, text: p.text, glued: glued})
			glued = true
		default:
			norm.WriteString(strings.ReplaceAll(p.part.placeholder, "$1", p.kept))
			text.WriteString(p.text)
		}
	}
	flush()
	return out
}

// Compare checks a run's message against the one the page quotes. It holds
// when the run's message matches MessagePattern(pageMessage); when it does
// not, diff is a word diff of the two, in git's word-diff form ([-page
// words-] {+run words+}), with the variable parts of both set aside so that
// only the words that drifted show. After a page's closing ... cut, the
// run's remaining words are not a difference.
func Compare(pageMessage, runMessage string) (holds bool, diff string) {
	if MessagePattern(pageMessage).MatchString(runMessage) {
		return true, ""
	}
	page, run := words(pageMessage), words(runMessage)
	tailCut := len(page) > 0 && page[len(page)-1].norm == "…"
	if tailCut {
		page = page[:len(page)-1]
	}
	dmp := diffmatchpatch.New()
	a, b, table := dmp.DiffLinesToRunes(joinNorm(page), joinNorm(run))
	diffs := dmp.DiffCharsToLines(dmp.DiffMainRunes(a, b, false), table)
	var out strings.Builder
	write := func(ws []word, open, close string) {
		for i, w := range ws {
			if out.Len() > 0 && (!w.glued || (i == 0 && open != "")) {
				out.WriteString(" ")
			}
			if i == 0 {
				out.WriteString(open)
			}
			out.WriteString(w.text)
		}
		out.WriteString(close)
	}
	pi, ri := 0, 0
	for i, d := range diffs {
		n := strings.Count(d.Text, "\n")
		switch d.Type {
		case diffmatchpatch.DiffEqual:
			write(page[pi:pi+n], "", "")
			pi += n
			ri += n
		case diffmatchpatch.DiffDelete:
			write(page[pi:pi+n], "[-", "-]")
			pi += n
		case diffmatchpatch.DiffInsert:
			if tailCut && i == len(diffs)-1 {
				// What the run says after the page's cut.
				write([]word{{text: "…"}}, "", "")
			} else {
				write(run[ri:ri+n], "{+", "+}")
			}
			ri += n
		}
	}
	return false, out.String()
}

// joinNorm puts one word a line, as the diff compares lines.
func joinNorm(ws []word) string {
	var b strings.Builder
	for _, w := range ws {
		b.WriteString(w.norm)
		b.WriteString("\n")
	}
	return b.String()
}
