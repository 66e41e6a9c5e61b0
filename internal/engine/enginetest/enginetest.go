// Package enginetest stands in for a container engine in tests: a fake
// CLI on PATH, and a registry that does not answer.
package enginetest

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/eventcheck/eventcheck/internal/engine"
)

// CLI makes name the only program on PATH: a shell script running script.
func CLI(t testing.TB, name, script string) {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir)
}

// NoRegistry points the registry probe at a closed port for the test.
func NoRegistry(t testing.TB) {
	t.Helper()
	old := engine.RegistryURL
	t.Cleanup(func() { engine.RegistryURL = old })
	engine.RegistryURL = "http://127.0.0.1:1/v2/"
}

// WithoutImages is a docker engine that answers but holds no image and
// can pull none.
func WithoutImages(t testing.TB) {
	t.Helper()
	CLI(t, "docker", `case "$1" in version) echo 27.5.1 ;; *) echo 'No such image' >&2; exit 1 ;; esac`)
	NoRegistry(t)
}
