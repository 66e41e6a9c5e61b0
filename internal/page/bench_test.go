package page

import (
	"os"
	"testing"
)

// BenchmarkDerive parses the fixture page and derives its story, kustomize
// rendering of both phases included: what a lint or run pays per page.
func BenchmarkDerive(b *testing.B) {
	src, err := os.ReadFile(fixturePage)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		p, err := Parse(fixturePage, src)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := Derive(p, fixtureMods); err != nil {
			b.Fatal(err)
		}
	}
}
