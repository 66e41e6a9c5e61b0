package images

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

// Two image builds that both need debootstrap, on a machine without it
// (as CI's first run): both go on to debootstrap, and it is installed once.
// The apt-get here fails as Debian's does when another apt-get holds its
// lock ("Could not get lock"); the debootstrap it installs stops each build
// right after the install.
func TestConcurrentBuildsInstallDebootstrapOnce(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("the installer runs only as root (this test fakes apt-get, not root)")
	}
	bin, state := t.TempDir(), t.TempDir()
	write := func(name, script string) {
		if err := os.WriteFile(filepath.Join(bin, name), []byte("#!/bin/sh\n"+script), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	write("docker", `case "$1" in version) echo 27.5.1 ;; *) echo 'No such image' >&2; exit 1 ;; esac`)
	lock, log := filepath.Join(state, "lock"), filepath.Join(state, "installs")
	write("apt-get", `/bin/mkdir `+lock+` 2>/dev/null || { echo "E: Could not get lock /var/lib/apt/lists/lock. It is held by process 1 (apt-get)" >&2; exit 100; }
/bin/sleep 0.3
for a; do case "$a" in debootstrap)
  echo "$a" >>`+log+`
  printf '#!/bin/sh\necho fake debootstrap stops the build here >&2; exit 1\n' >`+filepath.Join(bin, "debootstrap")+`
  /bin/chmod +x `+filepath.Join(bin, "debootstrap")+` ;; esac; done
/bin/rmdir `+lock+`
`)
	t.Setenv("PATH", bin)

	b, err := New(context.Background(), t.TempDir(), nil)
	if err != nil {
		t.Fatal(err)
	}
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() { _, errs[i] = b.Base(context.Background()) })
	}
	wg.Wait()
	for i, err := range errs {
		if err == nil || !strings.Contains(err.Error(), "fake debootstrap stops the build here") {
			t.Errorf("build %d: %v; want it past the install, stopped by debootstrap", i, err)
		}
	}
	data, _ := os.ReadFile(log)
	if got := strings.Count(string(data), "debootstrap"); got != 1 {
		t.Errorf("debootstrap installed %d times; want once", got)
	}
}
