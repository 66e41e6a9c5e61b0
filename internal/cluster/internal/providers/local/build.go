package local

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/eventcheck/eventcheck/internal/pins"
)

// buildTimeout bounds a build: a cold one takes ~15 minutes on 2 cores.
const buildTimeout = 45 * time.Minute

// binary returns the localcluster binary to run: the explicit path, else
// $EVENTCHECK_LOCALCLUSTER, else one built from the localcluster module of
// the source tree we run in (go build reuses its cache, so this is quick
// once built), else `localcluster` on the PATH, else one built from the
// localcluster module of this eventcheck's version (an installed CLI).
func binary(ctx context.Context, explicit string, log *slog.Logger) (string, error) {
	if explicit == "" {
		explicit = os.Getenv("EVENTCHECK_LOCALCLUSTER")
	}
	if explicit != "" {
		if err := checkExecutable(explicit); err != nil {
			return "", fmt.Errorf("localcluster binary %s: %w; build it with `make localcluster` or fix the path", explicit, err)
		}
		return explicit, nil
	}
	if src, ok := pins.LocalclusterSource(); ok {
		out := filepath.Join(filepath.Dir(src), "bin", "localcluster")
		if err := Build(ctx, src, out, log); err != nil {
			return "", err
		}
		return out, nil
	}
	if path, err := exec.LookPath("localcluster"); err == nil {
		return path, nil
	}
	// An installed eventcheck (go install …/cmd/eventcheck@version):
	// build the localcluster module of the same version.
	path, err := BuildInstalled(ctx, log)
	if err != nil {
		return "", fmt.Errorf("localcluster binary not found and not built: %w; run from the eventcheck source tree, put localcluster on the PATH, or set --localcluster-bin / EVENTCHECK_LOCALCLUSTER", err)
	}
	return path, nil
}

// BuildInstalled builds the localcluster module at this eventcheck's own
// version (from its build info), in the module cache where its replaces
// apply, into a cache directory keyed by that version. A second call
// finds the binary there.
func BuildInstalled(ctx context.Context, log *slog.Logger) (string, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	info, ok := debug.ReadBuildInfo()
	version := ""
	if ok {
		version = info.Main.Version
	}
	if version == "" || version == "(devel)" {
		return "", errors.New("this eventcheck was not installed from a module version (go install …/cmd/eventcheck@version), so there is no localcluster version to build")
	}
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	out := filepath.Join(cache, "eventcheck", "localcluster", version, "localcluster")
	if checkExecutable(out) == nil {
		return out, nil
	}
	// The module has replace directives, so `go install module@version`
	// refuses it: it is built where `go mod download` puts it.
	dir, err := download(ctx, pins.LocalclusterModule+"@"+version)
	if err != nil {
		return "", err
	}
	log.Info("building localcluster for this eventcheck (a cold build takes 10-15 minutes)", "module", pins.LocalclusterModule, "version", version)
	if err := Build(ctx, dir, out, log); err != nil {
		return "", err
	}
	return out, nil
}

// download fetches a module into the module cache and returns its
// directory.
func download(ctx context.Context, modVersion string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "mod", "download", "-json", modVersion)
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var m struct{ Dir, Error string }
	if err := json.Unmarshal(stdout.Bytes(), &m); err != nil || m.Error != "" || runErr != nil {
		return "", fmt.Errorf("go mod download %s: %s", modVersion, strings.TrimSpace(cmp.Or(m.Error, stderr.String(), fmt.Sprint(runErr))))
	}
	return m.Dir, nil
}

// Build compiles the localcluster module in src into out. go build skips the
// link when out is already up to date.
func Build(ctx context.Context, src, out string, log *slog.Logger) error {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithTimeout(ctx, buildTimeout)
	defer cancel()
	start := time.Now()
	cmd := exec.CommandContext(ctx, "go", "build", "-ldflags", pins.KubernetesLDFlags, "-o", out, "./cmd/localcluster")
	cmd.Dir = src
	// The nested module selects its own dependencies; a workspace or
	// GOFLAGS=-mod=vendor from the caller would break it.
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var output bytes.Buffer
	cmd.Stdout, cmd.Stderr = &output, &output
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("building localcluster in %s took longer than %s: %w", src, buildTimeout, ctx.Err())
		}
		return fmt.Errorf("failed to build localcluster in %s (go build: %v):\n%s", src, err, strings.TrimSpace(output.String()))
	}
	log.Debug("localcluster binary up to date", "path", out, "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

func checkExecutable(path string) error {
	st, err := os.Stat(path)
	if err != nil {
		return err
	}
	if st.IsDir() || st.Mode()&0o111 == 0 {
		return fmt.Errorf("not an executable file")
	}
	return nil
}
