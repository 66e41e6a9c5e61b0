package local

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers"
	"github.com/eventcheck/eventcheck/internal/pins"
)

func TestLocalOpenSearchStartsHealthyAndStopsClean(t *testing.T) {
	if testing.Short() {
		t.Skip("starts OpenSearch; skipped with -short")
	}
	ctx := context.Background()
	p, err := New(providers.Options{})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := p.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	local := p.(*provider)
	pid := local.Pid()
	t.Cleanup(func() { _ = p.Stop(ctx) })

	info, err := inst.Client.Info(ctx, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(info.Version.Number, pins.OpenSearchSeries+".") {
		t.Errorf("version %s, want %s.x", info.Version.Number, pins.OpenSearchSeries)
	}
	health, err := inst.Client.Cluster.Health(ctx, &opensearchapi.ClusterHealthReq{})
	if err != nil || (health.Status != "green" && health.Status != "yellow") {
		t.Fatalf("health = %+v, %v", health, err)
	}
	if os.Geteuid() == 0 {
		st, err := os.Stat(filepath.Join("/proc", strconv.Itoa(pid)))
		if err != nil {
			t.Fatal(err)
		}
		if uid := st.Sys().(*syscall.Stat_t).Uid; uid == 0 {
			t.Error("OpenSearch runs as root")
		}
	}
	logs := t.TempDir()
	if err := p.ExportLogs(ctx, logs); err != nil {
		t.Fatal(err)
	}
	if entries, _ := os.ReadDir(logs); len(entries) == 0 {
		t.Error("no logs exported")
	}

	host := strings.TrimPrefix(inst.Endpoint.URL, "http://")
	runDir := local.runDir
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("OpenSearch process %d still exists after Stop (%v)", pid, err)
	}
	if c, err := net.DialTimeout("tcp", host, time.Second); err == nil {
		c.Close()
		t.Errorf("%s still accepts connections after Stop", host)
	}
	if _, err := os.Stat(runDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary run directory %s left behind", runDir)
	}

	// A second start uses the cached distribution: with Maven out of
	// reach, preparing still succeeds, so nothing is downloaded.
	t.Setenv("PATH", t.TempDir())
	if _, version, err := Prepare(ctx, providers.Options{}); err != nil || !strings.HasPrefix(version, pins.OpenSearchSeries+".") {
		t.Errorf("second prepare without Maven: version %q, %v; it must not download", version, err)
	}
}

func TestBadInputFailsClearly(t *testing.T) {
	ctx := context.Background()
	garbage := filepath.Join(t.TempDir(), "opensearch-2.19.6.zip")
	if err := os.WriteFile(garbage, []byte("not a zip"), 0o644); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	private := filepath.Join(t.TempDir(), "private")
	if err := os.Mkdir(private, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts providers.Options
		want []string
	}{
		{"corrupt zip", providers.Options{Zip: garbage, CacheDir: t.TempDir()}, []string{garbage, "not a readable zip", "re-download"}},
		{"missing zip", providers.Options{Zip: "/nonexistent/os.zip"}, []string{"/nonexistent/os.zip"}},
		{"unusable java", providers.Options{JavaHome: "/usr/lib/jvm/temurin-25-jdk-amd64"}, []string{"temurin-25", "Java 25", "11 to 21"}},
		{"unwritable data dir", providers.Options{Dir: filepath.Join(file, "data")}, []string{file, "--opensearch-dir"}},
		{"data dir the OpenSearch user cannot reach", providers.Options{Dir: filepath.Join(private, "data")}, []string{private, "cannot reach", "mode 700"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if strings.Contains(tc.name, "cannot reach") && os.Geteuid() != 0 {
				t.Skip("only root runs OpenSearch as another user")
			}
			if tc.name == "unusable java" {
				if _, err := os.Stat(tc.opts.JavaHome); err != nil {
					t.Skipf("no JDK 25 at %s on this machine", tc.opts.JavaHome)
				}
			}
			p, err := New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			_, err = p.Start(ctx)
			if err == nil {
				_ = p.Stop(ctx)
				t.Fatal("Start succeeded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error should contain %q:\n%v", w, err)
				}
			}
			if d := time.Since(start); d > 2*time.Minute {
				t.Errorf("took %s", d)
			}
		})
	}
}

func TestFindJavaHonoursFittingJavaHome(t *testing.T) {
	home, v, err := FindJava("")
	if err != nil {
		t.Skipf("no JDK 11-21 here: %v", err)
	}
	if v < minJava || v > maxJava {
		t.Fatalf("FindJava picked Java %d", v)
	}
	t.Setenv("JAVA_HOME", home)
	if got, _, _ := FindJava(""); got != home {
		t.Fatalf("JAVA_HOME %s not honoured, got %s", home, got)
	}
	t.Setenv("JAVA_HOME", "/nonexistent")
	if got, _, err := FindJava(""); err != nil || got == "/nonexistent" {
		t.Fatalf("a broken JAVA_HOME should be skipped: %s, %v", got, err)
	}
}
