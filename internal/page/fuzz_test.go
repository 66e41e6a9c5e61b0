package page

import (
	"os"
	"testing"
)

// FuzzParse: a page, however odd, is parsed or refused, never a panic, and
// every line it names is in the file. go test runs the seeds only.
func FuzzParse(f *testing.F) {
	for _, file := range []string{fixturePage, fixtureJA, brokenPage} {
		src, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(src)
	}
	f.Add(md("---", "title: x", "---", "'''bash raw=true", "a", "'''", ":::tip", "`Normal`"))
	f.Add(md("'''bash", "$ kubectl get events -A", "LAST SEEN TYPE", "x", "$ helm install -=", "$ kubectl get events -o json", "{", "...", "'''"))
	f.Fuzz(func(t *testing.T, src []byte) {
		p, err := Parse(docFile, src)
		if err != nil {
			return
		}
		lines := len(newLineIndex(src))
		check := func(what string, line int) {
			if line < 0 || line > lines {
				t.Errorf("%s at line %d of %d", what, line, lines)
			}
		}
		for _, b := range p.Blocks {
			check("block", b.Line)
			for _, c := range b.Commands {
				check("command", c.Line)
			}
		}
		for _, u := range p.Prose {
			check("prose", u.Line)
		}
		// Derive reads no kustomization when the page applies none; a
		// page that does is refused for want of manifests, which is fine.
		_, _ = Derive(p, t.TempDir())
	})
}
