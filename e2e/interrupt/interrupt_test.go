// Package interrupt tests the e2e suite from outside: `go test ./e2e`
// interrupted (Ctrl-C) while it brings its environment up must stop what
// it started, write its report, and exit non-zero. Without a handler the
// test binary died at once: no report, the local cluster's and
// OpenSearch's directories left in TMPDIR, and on kind the cluster itself.
package interrupt_test

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/procstat"
)

func TestInterruptDuringSetupLeavesNothingBehind(t *testing.T) {
	if testing.Short() {
		t.Skip("brings a local environment up")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := t.TempDir()
	suite := filepath.Join(dir, "e2e.test")
	if out, err := exec.CommandContext(ctx, "go", "test", "-c", "-o", suite, "..").CombinedOutput(); err != nil {
		t.Fatalf("building the e2e suite: %v\n%s", err, out)
	}
	// The run's own TMPDIR, so that what it leaves there is its alone:
	// short, since the nodes' unix sockets live under it, and reachable by
	// OpenSearch's own user.
	tmp, err := os.MkdirTemp("", "ec-interrupt-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) })
	if err := os.Chmod(tmp, 0o755); err != nil {
		t.Fatal(err)
	}
	localcluster, _ := filepath.Abs("../../bin/localcluster")
	report := filepath.Join(dir, "report.json")
	// An exporter that never exports holds the setup in its wait for the
	// first document: the interrupt lands there, with the cluster and
	// OpenSearch up, every time. Its argument marks it among processes.
	marker := fmt.Sprintf("3600.%d", os.Getpid())
	cmd := exec.CommandContext(ctx, suite, "-test.run", "^$", "--cluster", "local", "--opensearch", "local",
		"--localcluster-bin", localcluster, "--exporter", "process", "--exporter-command", "sleep "+marker, "--json", report)
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var output strings.Builder
	started := make(chan struct{})
	read := make(chan struct{})
	go func() {
		defer close(read)
		var once sync.Once
		lines := bufio.NewScanner(stderr)
		for lines.Scan() {
			mu.Lock()
			output.WriteString(lines.Text() + "\n")
			mu.Unlock()
			if strings.Contains(lines.Text(), "exporter process started") {
				once.Do(func() { close(started) })
			}
		}
	}()
	log := func() string { mu.Lock(); defer mu.Unlock(); return output.String() }
	select {
	case <-started:
	case <-read:
		_ = cmd.Wait()
		t.Fatalf("the suite ended before its exporter started:\n%s", log())
	case <-ctx.Done():
		t.Fatalf("the suite's exporter did not start within 5 minutes:\n%s", log())
	}
	if err := cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	waited := make(chan error, 1)
	go func() { <-read; waited <- cmd.Wait() }()
	select {
	case err = <-waited:
	case <-time.After(time.Minute):
		_ = cmd.Process.Kill()
		t.Fatalf("the suite was still running a minute after the interrupt:\n%s", log())
	}
	var exit *exec.ExitError
	if !errors.As(err, &exit) || exit.ExitCode() <= 0 {
		t.Errorf("the suite's exit: %v; want a non-zero code, not a death by the signal", err)
	}
	if out := log(); !strings.Contains(out, "interrupted while bringing the environment up") {
		t.Errorf("the suite's output does not say it was interrupted:\n%s", out)
	}
	var rep struct {
		Passed bool
		Error  string
	}
	if data, err := os.ReadFile(report); err != nil || json.Unmarshal(data, &rep) != nil || rep.Passed || rep.Error == "" {
		t.Errorf("report %s: want one that failed with the setup's error: %v", report, err)
	}
	if left, _ := os.ReadDir(tmp); len(left) != 0 {
		var names []string
		for _, e := range left {
			names = append(names, e.Name())
		}
		t.Errorf("left in the run's TMPDIR: %v", names)
	}
	for _, mark := range []string{marker, tmp} {
		for pid, line := range procstat.Naming(mark) {
			t.Errorf("still running: %d %s", pid, line)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
