package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Charts shaped as the workshop's start the exporter with one argument,
// -conf=/data/config.yaml: the flag and its value in one word.
func TestConfFlagInOneWord(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the exporter; skipped with -short")
	}
	dir := t.TempDir()
	bin := filepath.Join(dir, "events-exporter")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	conf := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(conf, []byte("route: {routes: [{match: [{receiver: os}]}]}\nreceivers: [{name: os, opensearch: {hosts: [\"http://opensearch:9200\"], index: events}}]\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-check", "-conf="+conf).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "configuration ok") {
		t.Fatalf("-check -conf=%s: %v\n%s", conf, err, out)
	}
	// The same word with a file that is not there is refused, naming it:
	// the flag was read, not ignored.
	out, err = exec.Command(bin, "-check", "-conf="+conf+".missing").CombinedOutput()
	if err == nil || !strings.Contains(string(out), conf+".missing") {
		t.Fatalf("-conf= a missing file: %v\n%s", err, out)
	}
}
