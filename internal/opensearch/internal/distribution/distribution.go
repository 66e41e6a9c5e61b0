// Package distribution fetches OpenSearch's integration-test distribution
// from Maven Central and unpacks it into a cache: the local backend runs
// it, the container backend builds an image from it.
package distribution

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/pins"
)

// DefaultCacheDir holds distributions: as root a system-wide directory the
// OpenSearch user can read (root's home is private), else the user cache.
func DefaultCacheDir() string {
	if os.Geteuid() == 0 {
		return "/var/cache/eventcheck/opensearch"
	}
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "eventcheck", "opensearch")
	}
	return filepath.Join(os.TempDir(), "eventcheck-opensearch-cache")
}

// Fetch returns the home and version of the unpacked distribution: of zip
// when given, else of version ("", a series like "2.19", or an exact
// x.y.z), downloaded with Maven into cache ("": DefaultCacheDir) when
// missing.
func Fetch(ctx context.Context, cache, version, zip string) (home, resolved string, err error) {
	if cache == "" {
		cache = DefaultCacheDir()
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", "", fmt.Errorf("OpenSearch cache directory %s: %w", cache, err)
	}
	resolved = version
	if zip == "" {
		if zip, resolved, err = resolve(ctx, cache, version); err != nil {
			return "", "", err
		}
	} else if !fileExists(zip) {
		return "", "", fmt.Errorf("OpenSearch zip %s: no such file", zip)
	}
	if home, err = unpack(zip, cache); err != nil {
		return "", "", err
	}
	if resolved == "" {
		resolved = strings.TrimPrefix(filepath.Base(home), "opensearch-")
	}
	return home, resolved, nil
}

// newestPatch is where the search for the newest patch starts.
const newestPatch = 9

// ErrVersionNotFound says Maven Central has no such distribution.
var ErrVersionNotFound = errors.New("no such OpenSearch version on Maven Central")

const fetchTimeout = 15 * time.Minute

// resolve returns the distribution zip for version ("", a series like
// "2.19", or an exact x.y.z), downloading it with Maven into cache when
// missing. The version chosen for a series is remembered, so a second
// start neither probes nor downloads.
func resolve(ctx context.Context, cache, version string) (string, string, error) {
	if version == "" {
		version = pins.OpenSearchSeries
	}
	if strings.Count(version, ".") == 2 {
		zip, err := download(ctx, cache, version)
		return zip, version, err
	}
	remembered := filepath.Join(cache, "resolved-"+version)
	if data, err := os.ReadFile(remembered); err == nil {
		v := strings.TrimSpace(string(data))
		if zip := zipPath(cache, v); fileExists(zip) {
			return zip, v, nil
		}
	}
	var tried []string
	for patch := newestPatch; patch >= 0; patch-- {
		v := fmt.Sprintf("%s.%d", version, patch)
		zip, err := download(ctx, cache, v)
		if errors.Is(err, ErrVersionNotFound) {
			tried = append(tried, v)
			continue
		}
		if err != nil {
			return "", "", err
		}
		_ = os.WriteFile(remembered, []byte(v+"\n"), 0o644)
		return zip, v, nil
	}
	return "", "", fmt.Errorf("%w: no %s.x of %s resolves (tried %s)", ErrVersionNotFound, version, pins.OpenSearchArtifact, strings.Join(tried, ", "))
}

func zipPath(cache, version string) string {
	return filepath.Join(cache, "opensearch-"+version+".zip")
}

func download(ctx context.Context, cache, version string) (string, error) {
	return downloadArtifact(ctx, cache, pins.OpenSearchArtifact, version, zipPath(cache, version))
}

// downloadArtifact fetches artifact:version:zip with Maven into dest, once.
func downloadArtifact(ctx context.Context, cache, artifact, version, dest string) (string, error) {
	if fileExists(dest) {
		return dest, nil
	}
	if _, err := exec.LookPath("mvn"); err != nil {
		return "", fmt.Errorf("fetching %s %s needs Maven (mvn) on the PATH: install maven, or download %s:%s:zip yourself and pass --opensearch-zip", artifact, version, artifact, version)
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", fmt.Errorf("OpenSearch cache directory %s: %w", cache, err)
	}
	ctx, cancel := context.WithTimeout(ctx, fetchTimeout)
	defer cancel()
	tmp, err := os.MkdirTemp(cache, ".fetch-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, "mvn", "-B", "-q", "dependency:copy",
		"-Dartifact="+artifact+":"+version+":zip", "-DoutputDirectory="+tmp)
	cmd.Dir = tmp
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		text := out.String()
		if strings.Contains(text, "Could not find artifact") || strings.Contains(text, "was not found in") {
			return "", fmt.Errorf("%w: %s:%s:zip does not exist; choose a published version (e.g. %s.x) with --opensearch-version", ErrVersionNotFound, artifact, version, pins.OpenSearchSeries)
		}
		if ctx.Err() != nil {
			return "", fmt.Errorf("downloading %s %s took longer than %s", artifact, version, fetchTimeout)
		}
		return "", fmt.Errorf("mvn failed to fetch %s:%s:zip (%v):\n%s", artifact, version, err, logtail.Lines(text, 15))
	}
	name := artifact[strings.LastIndex(artifact, ":")+1:] + "-" + version + ".zip"
	if err := os.Rename(filepath.Join(tmp, name), dest); err != nil {
		return "", fmt.Errorf("failed to store %s: %w", name, err)
	}
	return dest, nil
}

// unpack extracts the zip into dest/opensearch-<version> once, keeping
// file modes (bin/ must stay executable). A corrupt zip is an error that
// names the file.
func unpack(zipFile, dest string) (string, error) {
	return unpackAs(zipFile, dest, "", nil)
}

// unpackAs is unpack into dest/homeName ("": the zip's name), with finish
// run on the unpacked tree before it takes its place: a tree is complete or
// absent, whoever else prepares it at the same time.
func unpackAs(zipFile, dest, homeName string, finish func(home string) error) (string, error) {
	name := strings.TrimSuffix(filepath.Base(zipFile), ".zip")
	if homeName == "" {
		homeName = name
	}
	home := filepath.Join(dest, homeName)
	if fileExists(filepath.Join(home, "bin", "opensearch")) {
		return home, nil
	}
	r, err := zip.OpenReader(zipFile)
	if err != nil {
		return "", fmt.Errorf("OpenSearch distribution %s is not a readable zip (%v): delete it and run again to re-download", zipFile, err)
	}
	defer r.Close()
	if err := os.MkdirAll(dest, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(dest, ".unpack-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	for _, f := range r.File {
		if err := extract(f, tmp); err != nil {
			return "", fmt.Errorf("OpenSearch distribution %s: %w; delete it and run again to re-download", zipFile, err)
		}
	}
	if !fileExists(filepath.Join(tmp, name, "bin", "opensearch")) {
		return "", fmt.Errorf("OpenSearch distribution %s has no %s/bin/opensearch", zipFile, name)
	}
	if finish != nil {
		if err := finish(filepath.Join(tmp, name)); err != nil {
			return "", err
		}
	}
	if err := os.Rename(filepath.Join(tmp, name), home); err != nil && !fileExists(filepath.Join(home, "bin", "opensearch")) {
		return "", err
	}
	return home, nil
}

func extract(f *zip.File, root string) error {
	path := filepath.Join(root, f.Name)
	if !strings.HasPrefix(path, filepath.Clean(root)+string(os.PathSeparator)) {
		return fmt.Errorf("entry %q escapes the archive", f.Name)
	}
	if f.FileInfo().IsDir() {
		return os.MkdirAll(path, 0o755)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	if f.Mode()&os.ModeSymlink != 0 {
		return fmt.Errorf("entry %q is a symlink; not expected in this distribution", f.Name)
	}
	src, err := f.Open()
	if err != nil {
		return fmt.Errorf("entry %q: %w", f.Name, err)
	}
	defer src.Close()
	mode := f.Mode().Perm()
	if mode == 0 {
		mode = 0o644
	}
	dst, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return fmt.Errorf("entry %q: %w", f.Name, err)
	}
	return dst.Close()
}

func fileExists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
