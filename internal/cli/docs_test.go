package cli

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"unicode"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// docsDir is the repository's docs/, from this package's directory (go
// test runs in it).
var docsDir = filepath.Join("..", "..", "docs")

// readDocs returns every docs/*.md file's text by path.
func readDocs(t *testing.T) map[string]string {
	t.Helper()
	paths, err := filepath.Glob(filepath.Join(docsDir, "*.md"))
	if err != nil || len(paths) == 0 {
		t.Fatalf("no docs/*.md under %s (%v)", docsDir, err)
	}
	docs := map[string]string{}
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		docs[p] = string(data)
	}
	return docs
}

// Every flag of every command is documented in docs/, so a flag added
// without a word about it fails here rather than surprising a reader.
// cobra's own --help and its generated help and completion commands are
// left out.
func TestDocsCoverEveryFlag(t *testing.T) {
	var all strings.Builder
	for _, text := range readDocs(t) {
		all.WriteString(text)
		all.WriteString("\n")
	}
	docs := all.String()
	checked := 0
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if c.Name() == "help" || c.Name() == "completion" {
			return
		}
		seen := map[string]bool{}
		visit := func(f *pflag.Flag) {
			if f.Name == "help" || seen[f.Name] {
				return
			}
			seen[f.Name] = true
			checked++
			// --cluster must not pass on the strength of --cluster-name.
			mention := regexp.MustCompile(`(^|[^A-Za-z0-9_-])--` + regexp.QuoteMeta(f.Name) + `($|[^A-Za-z0-9_-])`)
			if !mention.MatchString(docs) {
				t.Errorf("%s: flag --%s is in no docs/*.md file: document it in docs/ (a line saying what it does)", c.CommandPath(), f.Name)
			}
		}
		c.LocalFlags().VisitAll(visit)
		c.PersistentFlags().VisitAll(visit)
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRoot(nil, nil))
	// run alone has more than forty; fewer means the walk went wrong.
	if checked < 40 {
		t.Fatalf("only %d flags found", checked)
	}
}

var (
	mdLink    = regexp.MustCompile(`\]\(([^)\s]+)\)`)
	mdHeading = regexp.MustCompile(`^#{1,6}\s+(.*?)\s*$`)
)

// anchors returns the GitHub anchors of a Markdown file's headings.
func anchors(text string) map[string]bool {
	out := map[string]bool{}
	count := map[string]int{}
	fenced := false
	for _, line := range strings.Split(text, "\n") {
		if strings.HasPrefix(line, "```") {
			fenced = !fenced
			continue
		}
		m := mdHeading.FindStringSubmatch(line)
		if fenced || m == nil {
			continue
		}
		var b strings.Builder
		for _, r := range strings.ToLower(m[1]) {
			switch {
			case unicode.IsLetter(r) || unicode.IsDigit(r) || r == '-' || r == '_':
				b.WriteRune(r)
			case r == ' ':
				b.WriteRune('-')
			}
		}
		slug := b.String()
		if n := count[slug]; n > 0 {
			out[slug+"-"+strconv.Itoa(n)] = true
		} else {
			out[slug] = true
		}
		count[slug]++
	}
	return out
}

// Every relative link in README.md and docs/ leads to a file that exists,
// and to a heading of it when it names one: moving text between pages
// must not leave links behind.
func TestDocsLinksResolve(t *testing.T) {
	files := readDocs(t)
	readme := filepath.Join("..", "..", "README.md")
	data, err := os.ReadFile(readme)
	if err != nil {
		t.Fatal(err)
	}
	files[readme] = string(data)
	for path, text := range files {
		for _, m := range mdLink.FindAllStringSubmatch(text, -1) {
			link := m[1]
			if strings.Contains(link, "://") || strings.HasPrefix(link, "mailto:") {
				continue
			}
			target, anchor, _ := strings.Cut(link, "#")
			targetPath := path
			if target != "" {
				targetPath = filepath.Join(filepath.Dir(path), target)
			}
			if _, err := os.Stat(targetPath); err != nil {
				t.Errorf("%s: link %s: %v", path, link, err)
				continue
			}
			if anchor == "" || !strings.HasSuffix(targetPath, ".md") {
				continue
			}
			body, err := os.ReadFile(targetPath)
			if err != nil {
				t.Fatal(err)
			}
			if !anchors(string(body))[anchor] {
				t.Errorf("%s: link %s: %s has no heading with anchor #%s", path, link, targetPath, anchor)
			}
		}
	}
}
