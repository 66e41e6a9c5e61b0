package inputfile

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestReadIsBounded(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.yaml")
	if err := os.WriteFile(big, make([]byte, 2<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{big, "/dev/zero"} {
		_, err := Read("checks file", path, 1<<10)
		if err == nil || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "1 KiB") {
			t.Errorf("%s: %v, want an error naming the file and the limit", path, err)
		}
	}
	if _, err := Read("checks file", dir, 1<<10); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("a directory: %v", err)
	}
	small := filepath.Join(dir, "small")
	if err := os.WriteFile(small, []byte("ok"), 0o644); err != nil {
		t.Fatal(err)
	}
	if data, err := Read("checks file", small, 2); err != nil || string(data) != "ok" {
		t.Errorf("a file at the limit: %q, %v", data, err)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	for path, want := range map[string]string{
		filepath.Join(dir, "missing"): "--opensearch-ca " + filepath.Join(dir, "missing") + ": no such file",
		dir:                           "is a directory",
		"/dev/zero":                   "not a regular file",
	} {
		if err := Check("--opensearch-ca", path, 1<<20); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: %v, want %q", path, err, want)
		}
	}
}
