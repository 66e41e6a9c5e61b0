package procstat

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// A pid file names a live process, a dead one or none; an exited child not
// yet reaped (a zombie) is dead, though signal 0 still finds it.
func TestPIDFileAndAlive(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "pid")
	if _, alive := PIDFile(file); alive {
		t.Fatal("no pid file, yet alive")
	}
	if err := os.WriteFile(file, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if pid, alive := PIDFile(file); !alive || pid != os.Getpid() {
		t.Fatalf("this process: %d %t", pid, alive)
	}
	if err := os.WriteFile(file, []byte("not a pid"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, alive := PIDFile(file); alive {
		t.Fatal("garbage in the pid file, yet alive")
	}

	cmd := exec.Command("true")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	pid := cmd.Process.Pid
	err := wait.PollUntilContextTimeout(context.Background(), 10*time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return !Alive(pid), nil
	})
	if err != nil {
		t.Fatal("an exited, unreaped child still counts as alive")
	}
	// Nothing has waited for it: it is a zombie, which signal 0 finds.
	if syscall.Kill(pid, 0) != nil {
		t.Log("the child was gone altogether (reaped elsewhere)")
	}
}

func TestCPUSecondsGrowsWithWork(t *testing.T) {
	before := CPUSeconds(os.Getpid())
	x := 0
	for i := 0; CPUSeconds(os.Getpid())-before < 0.05 && i < 1e10; i++ {
		x += i
	}
	if got := CPUSeconds(os.Getpid()) - before; got < 0.05 {
		t.Fatalf("CPU seconds grew by %.3f after busy work; want ≥ 0.05 (%d)", got, x)
	}
	if CPUSeconds(-1) != 0 {
		t.Error("a process that does not exist used CPU")
	}
}

func TestInheritNothingKeepsInheritedDescriptorsFromChildren(t *testing.T) {
	// A descriptor as a caller would pass it down: without close-on-exec.
	fd, err := syscall.Open(os.DevNull, syscall.O_RDONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(fd)
	held := func() bool {
		return exec.Command("/bin/sh", "-c", fmt.Sprintf("[ -e /proc/self/fd/%d ]", fd)).Run() == nil
	}
	if !held() {
		t.Fatalf("a child does not see descriptor %d before the call: the test proves nothing", fd)
	}
	InheritNothing()
	if held() {
		t.Errorf("a child started after InheritNothing still holds descriptor %d", fd)
	}
}

func TestNamingFindsAProcessByItsCommandLine(t *testing.T) {
	mark := fmt.Sprintf("30.%d", os.Getpid())
	cmd := exec.Command("sleep", mark)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	if got := Naming(mark); got[cmd.Process.Pid] != "sleep "+mark || len(got) != 1 {
		t.Errorf("Naming(%q) = %v, want only pid %d, sleep %s", mark, got, cmd.Process.Pid, mark)
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if got := Naming(mark); len(got) != 0 {
		t.Errorf("after it ended, Naming(%q) = %v", mark, got)
	}
}
