// Package procstat reads process facts from /proc for tests and
// benchmarks (a process tree, its listening ports, resident memory) and
// stops the process groups we start.
package procstat

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Descendants returns pid and every process below it.
func Descendants(pid int) []int {
	children := map[int][]int{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, s := range stats {
		data, err := os.ReadFile(s)
		if err != nil {
			continue
		}
		str := string(data)
		rest := strings.Fields(str[strings.LastIndexByte(str, ')')+1:])
		if len(rest) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(rest[1])
		self, _ := strconv.Atoi(filepath.Base(filepath.Dir(s)))
		children[ppid] = append(children[ppid], self)
	}
	out := []int{pid}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i]]...)
	}
	return out
}

// ListeningPorts returns the TCP ports the given processes listen on.
func ListeningPorts(pids []int) map[int]bool {
	inodes := map[string]bool{}
	for _, pid := range pids {
		fds, _ := filepath.Glob(fmt.Sprintf("/proc/%d/fd/*", pid))
		for _, fd := range fds {
			target, err := os.Readlink(fd)
			if err == nil && strings.HasPrefix(target, "socket:[") {
				inodes[strings.TrimSuffix(strings.TrimPrefix(target, "socket:["), "]")] = true
			}
		}
	}
	ports := map[int]bool{}
	for _, table := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		f, err := os.Open(table)
		if err != nil {
			continue
		}
		s := bufio.NewScanner(f)
		s.Scan() // header
		for s.Scan() {
			fields := strings.Fields(s.Text())
			// local_address, st (0A = LISTEN), inode
			if len(fields) < 10 || fields[3] != "0A" || !inodes[fields[9]] {
				continue
			}
			port, err := strconv.ParseInt(fields[1][strings.LastIndexByte(fields[1], ':')+1:], 16, 32)
			if err == nil {
				ports[int(port)] = true
			}
		}
		f.Close()
	}
	return ports
}

// RSS returns the resident memory of the processes, in bytes.
func RSS(pids ...int) int64 {
	var total int64
	for _, pid := range pids {
		if v, ok := Status(pid, "VmRSS"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(v, " kB"), 10, 64)
			total += kb * 1024
		}
	}
	return total
}

// Status returns a field of /proc/PID/status ("VmRSS", "CapBnd"), trimmed.
func Status(pid int, field string) (string, bool) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return "", false
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strings.TrimSpace(v), true
		}
	}
	return "", false
}

// CPUSeconds is the user and system CPU time the processes have used so
// far, from /proc/PID/stat (fields 14 and 15, in USER_HZ = 100 ticks).
func CPUSeconds(pids ...int) float64 {
	var ticks float64
	for _, pid := range pids {
		data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			continue
		}
		// The command name (field 2) may hold spaces: count from its end.
		s := string(data)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
		if len(f) < 13 {
			continue
		}
		for _, v := range f[11:13] { // utime, stime
			n, _ := strconv.ParseFloat(v, 64)
			ticks += n
		}
	}
	return ticks / 100
}

// MiB converts bytes to mebibytes.
func MiB(b int64) float64 { return float64(b) / (1 << 20) }

// StopGroup ends the process group pid leads: SIGTERM, then SIGKILL when
// it has not exited within grace. exited delivers (or is closed) once the
// leader has been waited for.
func StopGroup(pid int, exited <-chan error, grace time.Duration) {
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		<-exited
	}
}

// Alive is false for a process that is gone or a zombie (exited but not
// yet reaped by a parent that is still running), which signal 0 would
// still find.
func Alive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	fields := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+1:]))
	return len(fields) > 0 && fields[0] != "Z"
}

// PIDFile reads the pid a detached process recorded in path and says
// whether that process is alive.
func PIDFile(path string) (pid int, alive bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, false
	}
	pid, err = strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, Alive(pid)
}

// InheritNothing marks every descriptor of this process beyond the
// standard three close-on-exec, so that a process started next holds
// nothing of ours. Call it before starting one that outlives us (a
// daemon, a detached environment): Go opens its own descriptors
// close-on-exec, but those inherited from our caller (flock's lock, a CI
// runner's pipe) are not, and a detached child would hold them for its
// whole life, keeping the lock taken or the pipe open.
func InheritNothing() {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return
	}
	for _, e := range entries {
		if fd, err := strconv.Atoi(e.Name()); err == nil && fd > 2 {
			syscall.CloseOnExec(fd)
		}
	}
}

// Naming returns the processes whose command line holds s, by pid, each
// with its command line (arguments joined by spaces). A zombie has none,
// so it never matches.
func Naming(s string) map[int]string {
	found := map[int]string{}
	lines, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range lines {
		data, err := os.ReadFile(p)
		if err != nil || !strings.Contains(string(data), s) {
			continue
		}
		if pid, err := strconv.Atoi(filepath.Base(filepath.Dir(p))); err == nil && pid != os.Getpid() {
			found[pid] = strings.TrimSpace(strings.ReplaceAll(string(data), "\x00", " "))
		}
	}
	return found
}
