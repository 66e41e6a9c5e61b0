package distribution

import (
	"archive/zip"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestVersionThatDoesNotExist(t *testing.T) {
	if testing.Short() {
		t.Skip("asks Maven Central; skipped with -short")
	}
	_, _, err := resolve(context.Background(), t.TempDir(), "2.19.99")
	if !errors.Is(err, ErrVersionNotFound) || !strings.Contains(err.Error(), "2.19.99") || !strings.Contains(err.Error(), "--opensearch-version") {
		t.Fatalf("resolve(2.19.99) = %v", err)
	}
}

func TestUnpackKeepsModes(t *testing.T) {
	zip, _, err := resolve(context.Background(), DefaultCacheDir(), "")
	if err != nil {
		t.Skipf("no distribution: %v", err)
	}
	dest := t.TempDir()
	home, err := unpack(zip, dest)
	if err != nil {
		t.Fatal(err)
	}
	st, err := os.Stat(filepath.Join(home, "bin", "opensearch"))
	if err != nil || st.Mode()&0o111 == 0 {
		t.Fatalf("bin/opensearch mode %v (%v): must stay executable", st.Mode(), err)
	}
}

func TestUnpackRejectsEntriesOutsideTheTree(t *testing.T) {
	dir := t.TempDir()
	zipFile := filepath.Join(dir, "opensearch-0.0.1.zip")
	f, err := os.Create(zipFile)
	if err != nil {
		t.Fatal(err)
	}
	w := zip.NewWriter(f)
	entry, _ := w.Create("../../evil")
	entry.Write([]byte("x"))
	w.Close()
	f.Close()
	_, err = unpack(zipFile, filepath.Join(dir, "out"))
	if err == nil || !strings.Contains(err.Error(), "escapes") {
		t.Fatalf("unpack = %v; want an error about an escaping entry", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "evil")); err == nil {
		t.Fatal("entry written outside the destination")
	}
}
