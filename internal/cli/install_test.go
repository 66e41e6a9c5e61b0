package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/mod/module"
	modzip "golang.org/x/mod/zip"
)

// A user installs the CLI with go install (the gate example's first step)
// and runs the default path from a directory that is not the source tree:
// the CLI builds the localcluster module of its own version (go install
// refuses that module: it has replace directives) and the story passes.
// The module proxy is a directory the test makes from this repository's
// HEAD, so the test needs no network.
func TestInstalledCLIRunsTheLocalPath(t *testing.T) {
	if testing.Short() {
		t.Skip("installs the CLI and starts an environment; skipped with -short")
	}
	t.Parallel() // an environment of its own; go test runs two such at a time
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, ".git")); err != nil {
		t.Skip("needs the git checkout of eventcheck to make module zips from")
	}
	const version = "v0.0.1"
	proxy := t.TempDir()
	publish(t, proxy, root, "github.com/eventcheck/eventcheck", version, "")
	publish(t, proxy, root, "github.com/eventcheck/eventcheck/localcluster", version, "localcluster")

	gocache, err := exec.Command("go", "env", "GOCACHE").Output()
	if err != nil {
		t.Fatal(err)
	}
	gobin, cacheHome, work := t.TempDir(), t.TempDir(), t.TempDir()
	env := append(os.Environ(),
		"GOPROXY=file://"+proxy+",https://proxy.golang.org", "GONOSUMDB=github.com/eventcheck", "GOFLAGS=-mod=mod",
		"GOBIN="+gobin, "GOWORK=off",
		// A fresh user cache (no localcluster built yet), the warm Go
		// build cache.
		"XDG_CACHE_HOME="+cacheHome, "GOCACHE="+strings.TrimSpace(string(gocache)),
	)
	install := exec.Command("go", "install", "github.com/eventcheck/eventcheck/cmd/eventcheck@"+version)
	install.Dir, install.Env = work, env
	start := time.Now()
	if out, err := install.CombinedOutput(); err != nil {
		t.Fatalf("go install: %v\n%s", err, out)
	}
	t.Logf("go install from the module proxy: %s", time.Since(start).Round(time.Second))

	run := exec.Command(filepath.Join(gobin, "eventcheck"), "run", "--cluster", "local", "--opensearch", "local", "--json", "out/report.json")
	run.Dir, run.Env = work, env
	var out bytes.Buffer
	run.Stdout, run.Stderr = &out, &out
	start = time.Now()
	if err := run.Run(); err != nil {
		t.Fatalf("installed eventcheck run: %v\n%s", err, out.String())
	}
	t.Logf("installed eventcheck run, localcluster built: %s", time.Since(start).Round(time.Second))
	if bin := filepath.Join(cacheHome, "eventcheck", "localcluster", version, "localcluster"); !isExecutable(bin) {
		t.Errorf("no localcluster built for %s at %s", version, bin)
	}
	var rep struct {
		Passed bool `json:"passed"`
	}
	data, err := os.ReadFile(filepath.Join(work, "out", "report.json"))
	if err != nil || json.Unmarshal(data, &rep) != nil || !rep.Passed {
		t.Fatalf("report %s (%v)\n%s", data, err, out.String())
	}
}

// publish writes module path@version, made from the repository's HEAD
// (subdir for a nested module), into a file-based module proxy.
func publish(t *testing.T, proxy, repo, path, version, subdir string) {
	t.Helper()
	dir := filepath.Join(proxy, filepath.FromSlash(path), "@v")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	var zip bytes.Buffer
	if err := modzip.CreateFromVCS(&zip, module.Version{Path: path, Version: version}, repo, "HEAD", subdir); err != nil {
		t.Fatalf("module zip of %s: %v", path, err)
	}
	gomod, err := exec.Command("git", "-C", repo, "show", "HEAD:"+filepath.ToSlash(filepath.Join(subdir, "go.mod"))).Output()
	if err != nil {
		t.Fatal(err)
	}
	info, _ := json.Marshal(map[string]string{"Version": version, "Time": time.Now().UTC().Format(time.RFC3339)})
	for name, data := range map[string][]byte{"list": []byte(version + "\n"), version + ".info": info, version + ".mod": gomod, version + ".zip": zip.Bytes()} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func isExecutable(path string) bool {
	st, err := os.Stat(path)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}
