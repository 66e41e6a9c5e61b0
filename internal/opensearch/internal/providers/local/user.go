package local

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// systemUser runs OpenSearch when we are root: OpenSearch refuses to run
// as root and no setting overrides that.
const systemUser = "eventcheck-opensearch"

// runAs is the identity the JVM runs as; nil means the current user.
type runAs struct {
	name     string
	uid, gid int
}

// ensureUser returns nil when not root; as root it creates (if missing) a
// system user without a login shell or home and returns it.
func ensureUser() (*runAs, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup(systemUser)
	if err != nil {
		out, cerr := exec.Command("useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
			"--shell", "/usr/sbin/nologin", "--user-group", systemUser).CombinedOutput()
		// Another process (a parallel test package) may have created it.
		if u, err = user.Lookup(systemUser); err != nil {
			if cerr != nil {
				return nil, fmt.Errorf("OpenSearch cannot run as root and creating the system user %s failed: %v: %s; create it (useradd --system %s) or run as a non-root user", systemUser, cerr, out, systemUser)
			}
			return nil, err
		}
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &runAs{name: systemUser, uid: uid, gid: gid}, nil
}

func (r *runAs) credential() *syscall.Credential {
	if r == nil {
		return nil
	}
	return &syscall.Credential{Uid: uint32(r.uid), Gid: uint32(r.gid)}
}

// chownTree gives the run user a tree; a no-op when not root.
func (r *runAs) chownTree(root string) error {
	if r == nil {
		return nil
	}
	return filepath.Walk(root, func(path string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(path, r.uid, r.gid)
	})
}

// checkReachable reports the first directory on the way to dir that the
// run user cannot traverse (OpenSearch would fail with a bare "permission
// denied"); nil when not root.
func (r *runAs) checkReachable(dir string) error {
	if r == nil {
		return nil
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for d := filepath.Dir(abs); ; d = filepath.Dir(d) {
		st, err := os.Stat(d)
		if err != nil {
			return err
		}
		sys := st.Sys().(*syscall.Stat_t)
		mode := st.Mode().Perm()
		var ok bool
		switch {
		case int(sys.Uid) == r.uid:
			ok = mode&0o100 != 0
		case int(sys.Gid) == r.gid:
			ok = mode&0o010 != 0
		default:
			ok = mode&0o001 != 0
		}
		if !ok {
			return fmt.Errorf("OpenSearch runs as %s, which cannot reach %s: %s is mode %o; choose a --opensearch-dir it can reach or chmod o+x %s", r.name, abs, d, mode, d)
		}
		if d == "/" {
			return nil
		}
	}
}
