package engine

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/procstat"
)

// Daemon files under its state directory.
const (
	daemonPID = "dockerd.pid"
	daemonLog = "dockerd.log"
	// daemonReady bounds how long a started daemon may take to answer.
	daemonReady = 60 * time.Second
)

// Up makes sure a container engine answers: if none does, it starts a
// Docker daemon whose state (images, containers, pid file, log) lives
// under dir, installing Debian's docker.io first when dockerd is missing
// and we are root with apt-get. It says what it did.
func Up(ctx context.Context, dir string) (string, error) {
	if e, err := Detect(ctx); err == nil {
		return fmt.Sprintf("%s engine %s already answers; nothing started", e.Binary, e.Version), nil
	}
	dockerd, installed, err := findOrInstallDockerd(ctx)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("engine state directory %s: %w; choose a writable --dir", dir, err)
	}
	logPath := filepath.Join(dir, daemonLog)
	logFile, err := os.Create(logPath)
	if err != nil {
		return "", fmt.Errorf("engine state directory %s: %w; choose a writable --dir", dir, err)
	}
	defer logFile.Close()
	args := []string{"--data-root", filepath.Join(dir, "data"), "--exec-root", filepath.Join(dir, "exec"),
		"--pidfile", filepath.Join(dir, daemonPID)}
	wrapped, note := privilegedRuntime(ctx, dir)
	args = append(args, wrapped...)
	cmd := exec.Command(dockerd, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true} // outlives this command
	procstat.InheritNothing()
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("failed to start %s: %w", dockerd, err)
	}
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	var e *Engine
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, daemonReady, true, func(ctx context.Context) (bool, error) {
		select {
		case <-exited:
			return false, fmt.Errorf("dockerd exited; last lines of %s:\n%s", logPath, logtail.File(logPath, 15))
		default:
		}
		var derr error
		e, derr = Detect(ctx)
		return derr == nil, nil
	})
	if err != nil {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		return "", fmt.Errorf("the Docker daemon started from %s did not answer within %s: %w; see %s", dockerd, daemonReady, err, logPath)
	}
	did := fmt.Sprintf("started %s (pid %d, state in %s): %s engine %s answers", dockerd, cmd.Process.Pid, dir, e.Binary, e.Version)
	if installed {
		did = "installed Debian's docker.io; " + did
	}
	if note != "" {
		did += "; " + note
	}
	return did, nil
}

// RuncWrapper is runc minus the capability a container host may lack
// (CAP_SYS_RESOURCE): our daemon's runtime when the host lacks it, and the
// kind node image's runc, whose privileged pods would ask for it too.
//
//go:embed runc-wrapper.sh
var RuncWrapper []byte

// capSysResource is CAP_SYS_RESOURCE's bit in /proc/self/status's CapBnd.
const capSysResource = 24

// privilegedRuntime returns the daemon flags that make privileged
// containers start on a host whose capability bounding set lacks
// CAP_SYS_RESOURCE (a container itself): runc would fail to apply it with
// "unable to apply caps". Elsewhere, none. The note says what was done.
func privilegedRuntime(ctx context.Context, dir string) (flags []string, note string) {
	capBnd, ok := procstat.Status(os.Getpid(), "CapBnd")
	if !ok {
		return nil, ""
	}
	bnd, _ := strconv.ParseUint(capBnd, 16, 64)
	if bnd == 0 || bnd&(1<<capSysResource) != 0 {
		return nil, ""
	}
	const cannot = "this host cannot grant CAP_SYS_RESOURCE, so privileged containers (kind's nodes) will not start"
	if _, _, err := Install(ctx, "jq", "jq"); err != nil {
		return nil, fmt.Sprintf("%s: the runc wrapper that drops it needs jq (%v)", cannot, err)
	}
	path := filepath.Join(dir, "eventcheck-runc")
	if err := os.WriteFile(path, RuncWrapper, 0o755); err != nil {
		return nil, fmt.Sprintf("%s: writing the runc wrapper: %v", cannot, err)
	}
	return []string{"--add-runtime", "eventcheck-runc=" + path, "--default-runtime", "eventcheck-runc"},
		"containers run through a runc that drops CAP_SYS_RESOURCE, which this host cannot grant (so privileged containers, as kind's nodes, start)"
}

// Down stops the daemon Up started from dir, if it runs. An engine Up did
// not start is left alone.
func Down(ctx context.Context, dir string) (string, error) {
	pid, alive := procstat.PIDFile(filepath.Join(dir, daemonPID))
	if !alive {
		return fmt.Sprintf("no engine started from %s is running; nothing stopped", dir), nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return "", fmt.Errorf("failed to stop dockerd (pid %d): %w", pid, err)
	}
	err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
		return !procstat.Alive(pid), nil
	})
	if err != nil {
		_ = syscall.Kill(pid, syscall.SIGKILL)
		return fmt.Sprintf("dockerd (pid %d) did not stop within 30s; killed it", pid), nil
	}
	return "stopped dockerd (pid " + strconv.Itoa(pid) + ")", nil
}

// findOrInstallDockerd returns dockerd's path, installing docker.io with
// apt-get when it is missing and the machine allows it.
func findOrInstallDockerd(ctx context.Context) (path string, installed bool, err error) {
	path, installed, err = Install(ctx, "dockerd", "docker.io")
	if err != nil {
		return "", false, fmt.Errorf("no container engine answers: %w; or use --cluster local", err)
	}
	return path, installed, nil
}

// Install returns command's path, installing the Debian package that has
// it with apt-get when it is missing and we are root on a machine with
// apt-get. It says installed when it did. Installs run one at a time
// (aptLock): builds started together on a fresh machine both need
// debootstrap, and a second apt-get fails on apt's own lock.
func Install(ctx context.Context, command, debianPackage string) (path string, installed bool, err error) {
	if p, err := exec.LookPath(command); err == nil {
		return p, false, nil
	}
	err = withAptLock(ctx, func() error {
		// Another build may have installed it while this one waited.
		if _, err := exec.LookPath(command); err == nil {
			return nil
		}
		installed = true
		return aptGet(ctx, debianPackage)
	})
	if err != nil {
		return "", false, fmt.Errorf("%s is not installed: %w", command, err)
	}
	p, err := exec.LookPath(command)
	if err != nil {
		return "", false, fmt.Errorf("apt-get installed %s but %s is not on PATH", debianPackage, command)
	}
	return p, installed, nil
}

// AptInstall installs a Debian package with apt-get, as root on a machine
// that has it, unless dpkg says it is installed; elsewhere the error says
// how to install it by hand. One install at a time, as Install.
func AptInstall(ctx context.Context, debianPackage string) error {
	return withAptLock(ctx, func() error {
		if exec.CommandContext(ctx, "dpkg", "-s", debianPackage).Run() == nil {
			return nil
		}
		return aptGet(ctx, debianPackage)
	})
}

// aptGet installs a package; only when that fails (no package lists, as
// in a fresh container, or stale ones) does it update the lists and try
// again: a second install on a machine costs no update.
func aptGet(ctx context.Context, debianPackage string) error {
	apt, aptErr := exec.LookPath("apt-get")
	if aptErr != nil || os.Geteuid() != 0 {
		return fmt.Errorf("install it (Debian: apt-get install %s, as root)", debianPackage)
	}
	run := func(args ...string) error {
		c := exec.CommandContext(ctx, apt, args...)
		c.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := c.CombinedOutput(); err != nil {
			return fmt.Errorf("apt-get %s failed (%v):\n%s", args[0], err, logtail.Lines(string(out), 10))
		}
		return nil
	}
	install := []string{"install", "-y", "--no-install-recommends", debianPackage}
	if run(install...) == nil {
		return nil
	}
	if err := run("update"); err != nil {
		return err
	}
	return run(install...)
}

// aptLockWait bounds the wait for another eventcheck's install: apt-get
// update and an install take a minute or two on a slow mirror.
const aptLockWait = 10 * time.Minute

// withAptLock runs fn holding a file lock of ours, shared by every
// eventcheck process on the machine (go test runs packages in parallel).
func withAptLock(ctx context.Context, fn func() error) error {
	path := filepath.Join(os.TempDir(), "eventcheck-apt.lock")
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o666)
	if err != nil {
		return fmt.Errorf("opening the install lock %s: %w", path, err)
	}
	defer f.Close()
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, aptLockWait, true, func(context.Context) (bool, error) {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return fmt.Errorf("waiting for another install to release %s: %w", path, err)
	}
	defer syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
	return fn()
}
