package engine_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/eventcheck/eventcheck/internal/engine"
)

// Up starts a daemon only when no engine answers, keeps its state in the
// directory given, and Down stops only what Up started. dockerd and docker
// are stand-ins: the daemon answers once it has started.
func TestUpStartsOnlyWhenNeededAndDownStopsIt(t *testing.T) {
	bin, state := t.TempDir(), t.TempDir()
	marker := filepath.Join(state, "answering")
	write := func(name, script string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("dockerd", `while [ $# -gt 0 ]; do case "$1" in --pidfile) pid="$2"; shift;; esac; shift; done
echo $$ > "$pid"
trap '/bin/rm -f `+marker+`; exit 0' TERM
/bin/touch `+marker+`
while :; do /bin/sleep 0.05; done
`)
	write("docker", `[ -f `+marker+` ] && echo 24.0.9 || { echo "Cannot connect to the Docker daemon" >&2; exit 1; }`)
	t.Setenv("PATH", bin)
	ctx := context.Background()
	dir := filepath.Join(state, "engine")
	t.Cleanup(func() { _, _ = engine.Down(ctx, dir) })

	did, err := engine.Up(ctx, dir)
	if err != nil || !strings.Contains(did, "started") || !strings.Contains(did, "24.0.9 answers") {
		t.Fatalf("Up = %q, %v; want a started daemon that answers", did, err)
	}
	if did, err := engine.Up(ctx, dir); err != nil || !strings.Contains(did, "already answers") {
		t.Fatalf("second Up = %q, %v; want nothing started", did, err)
	}
	if did, err := engine.Down(ctx, dir); err != nil || !strings.Contains(did, "stopped dockerd") {
		t.Fatalf("Down = %q, %v", did, err)
	}
	if _, err := engine.Detect(ctx); err == nil {
		t.Fatal("the engine still answers after Down")
	}
	if did, err := engine.Down(ctx, dir); err != nil || !strings.Contains(did, "nothing stopped") {
		t.Fatalf("second Down = %q, %v", did, err)
	}
}
