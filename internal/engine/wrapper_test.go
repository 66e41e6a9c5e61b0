package engine

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The wrapper removes CAP_SYS_RESOURCE from a container's spec (create)
// and from an exec'd process (exec), keeps every other capability, and
// hands the same arguments to runc.
func TestRuncWrapperDropsOnlyCapSysResource(t *testing.T) {
	dir := t.TempDir()
	wrapper := filepath.Join(dir, "runc")
	if err := os.WriteFile(wrapper, RuncWrapper, 0o755); err != nil {
		t.Fatal(err)
	}
	args := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "real-runc")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho \"$@\" > "+args+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	caps := `{"bounding":["CAP_CHOWN","CAP_SYS_RESOURCE"],"effective":["CAP_SYS_RESOURCE","CAP_NET_ADMIN"]}`
	bundle := filepath.Join(dir, "bundle")
	_ = os.MkdirAll(bundle, 0o755)
	spec := filepath.Join(bundle, "config.json")
	process := filepath.Join(dir, "process.json")
	for _, c := range []struct {
		file, json string
		args       []string
	}{
		{spec, `{"process":{"capabilities":` + caps + `}}`, []string{"--root", "/run/x", "create", "--bundle", bundle, "id1"}},
		{process, `{"capabilities":` + caps + `}`, []string{"--root", "/run/x", "exec", "--process", process, "id1"}},
	} {
		if err := os.WriteFile(c.file, []byte(c.json), 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(wrapper, c.args...)
		cmd.Env = append(os.Environ(), "EVENTCHECK_RUNC="+fake)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		got, _ := os.ReadFile(c.file)
		if strings.Contains(string(got), "CAP_SYS_RESOURCE") || !strings.Contains(string(got), "CAP_CHOWN") || !strings.Contains(string(got), "CAP_NET_ADMIN") {
			t.Errorf("%s after the wrapper: %s", filepath.Base(c.file), got)
		}
		passed, _ := os.ReadFile(args)
		if strings.TrimSpace(string(passed)) != strings.Join(c.args, " ") {
			t.Errorf("runc got %q, want %q", passed, strings.Join(c.args, " "))
		}
	}
}
