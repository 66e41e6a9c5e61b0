// Package images builds the container images eventcheck's container paths
// need, here, from Debian packages and Maven artifacts: for engines that
// cannot pull (no registry reachable, offline, behind a proxy). Each image
// is tagged with a hash of what it is built from, so building it again is
// a lookup.
package images

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"text/template"
	"time"

	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/logtail"
)

//go:embed opensearch
var recipes embed.FS

// Repository is where built images are tagged: a name no registry serves,
// so an engine never tries to pull one.
const Repository = "eventcheck.local"

// Base recipe: Debian's minimal system with Debian's JDK 17 runtime.
const (
	baseSuite    = "bookworm"
	baseMirror   = "http://deb.debian.org/debian"
	basePackages = "openjdk-17-jre-headless"
)

// Builder builds images into a container engine.
type Builder struct {
	engine   *engine.Engine
	cacheDir string
	log      *slog.Logger
}

// New finds the engine to build into; cacheDir holds build scratch space
// (empty: the system's temporary directory).
func New(ctx context.Context, cacheDir string, log *slog.Logger) (*Builder, error) {
	e, err := engine.Detect(ctx)
	if err != nil {
		return nil, fmt.Errorf("building images needs a running container engine: %w; start one with 'eventcheck env engine up'", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Builder{engine: e, cacheDir: cacheDir, log: log}, nil
}

// Base returns Debian's minimal system with the JDK 17 runtime as an image,
// made with debootstrap and imported (there is nothing to pull FROM).
func (b *Builder) Base(ctx context.Context) (string, error) {
	ref := fmt.Sprintf("%s/debian-jre17:%s-%s", Repository, baseSuite, hash(baseSuite, baseMirror, basePackages))
	if b.has(ctx, ref) {
		return ref, nil
	}
	start := time.Now()
	debootstrap, _, err := engine.Install(ctx, "debootstrap", "debootstrap")
	if err != nil {
		return "", fmt.Errorf("building the base image %s: %w", ref, err)
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("building the base image %s needs root (debootstrap); or pass an image you have with --opensearch-image", ref)
	}
	dir, err := os.MkdirTemp(b.cacheDir, "rootfs-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	b.log.Info("building the base image: debootstrap", "image", ref, "suite", baseSuite, "packages", basePackages)
	if err := b.run(ctx, nil, debootstrap, "--variant=minbase", "--include="+basePackages, baseSuite, dir, baseMirror); err != nil {
		return "", fmt.Errorf("debootstrap %s: %w", baseSuite, err)
	}
	// What debootstrap downloaded is not part of the system.
	for _, junk := range []string{"var/cache/apt/archives", "var/lib/apt/lists"} {
		matches, _ := filepath.Glob(filepath.Join(dir, junk, "*"))
		for _, m := range matches {
			_ = os.RemoveAll(m)
		}
	}
	tar := exec.CommandContext(ctx, "tar", "-C", dir, "-c", ".")
	rootfs, err := tar.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := tar.Start(); err != nil {
		return "", fmt.Errorf("tar of the root filesystem: %w", err)
	}
	importErr := b.run(ctx, rootfs, b.engine.Binary, "import", "-", ref)
	if err := errors.Join(importErr, tar.Wait()); err != nil {
		return "", fmt.Errorf("importing the base image %s: %w", ref, err)
	}
	b.log.Info("base image built", "image", ref, "elapsed", time.Since(start).Round(time.Second))
	return ref, nil
}

// OpenSearch returns an image that the container provider runs as it
// would run the official one (single node by environment, port 9200,
// health green), built from Base and the unpacked integration-test
// distribution of this version in home.
func (b *Builder) OpenSearch(ctx context.Context, home, version string) (string, error) {
	base, err := b.Base(ctx)
	if err != nil {
		return "", err
	}
	baseID, err := b.id(ctx, base)
	if err != nil {
		return "", err
	}
	dockerfile, err := render("opensearch/Dockerfile", struct{ Base string }{base})
	if err != nil {
		return "", err
	}
	entrypoint, err := recipes.ReadFile("opensearch/opensearch-docker-entrypoint.sh")
	if err != nil {
		return "", err
	}
	ref := fmt.Sprintf("%s/opensearch:%s-%s", Repository, version, hash(dockerfile, string(entrypoint), baseID, version))
	if b.has(ctx, ref) {
		return ref, nil
	}
	start := time.Now()
	dir, err := os.MkdirTemp(b.cacheDir, "opensearch-image-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := os.CopyFS(filepath.Join(dir, "opensearch"), os.DirFS(home)); err != nil {
		return "", fmt.Errorf("copying the distribution %s: %w", home, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(dockerfile), 0o644); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(dir, "opensearch-docker-entrypoint.sh"), entrypoint, 0o755); err != nil {
		return "", err
	}
	b.log.Info("building the OpenSearch image", "image", ref, "distribution", home)
	if err := b.build(ctx, dir, ref); err != nil {
		return "", fmt.Errorf("building the OpenSearch image %s: %w", ref, err)
	}
	b.log.Info("OpenSearch image built", "image", ref, "elapsed", time.Since(start).Round(time.Second))
	return ref, nil
}

// build runs the engine's classic builder: it uses a local FROM image as
// is, where BuildKit would ask a registry for its metadata.
func (b *Builder) build(ctx context.Context, dir, ref string) error {
	cmd := exec.CommandContext(ctx, b.engine.Binary, "build", "--quiet", "--tag", ref, dir)
	cmd.Env = append(os.Environ(), "DOCKER_BUILDKIT=0")
	return runCmd(cmd)
}

func (b *Builder) has(ctx context.Context, ref string) bool {
	return len(b.engine.Missing(ctx, ref)) == 0
}

func (b *Builder) id(ctx context.Context, ref string) (string, error) {
	out, err := exec.CommandContext(ctx, b.engine.Binary, "image", "inspect", "--format", "{{.Id}}", ref).Output()
	if err != nil {
		return "", fmt.Errorf("%s image inspect %s: %w", b.engine.Binary, ref, err)
	}
	return strings.TrimSpace(string(out)), nil
}

func (b *Builder) run(ctx context.Context, stdin io.Reader, name string, args ...string) error {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = stdin
	return runCmd(cmd)
}

func runCmd(cmd *exec.Cmd) error {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w:\n%s", filepath.Base(cmd.Path), err, logtail.Lines(out.String(), 15))
	}
	return nil
}

func render(name string, data any) (string, error) {
	text, err := recipes.ReadFile(name)
	if err != nil {
		return "", err
	}
	t, err := template.New(name).Parse(string(text))
	if err != nil {
		return "", err
	}
	var out strings.Builder
	err = t.Execute(&out, data)
	return out.String(), err
}

// hash names a recipe's inputs in 12 hex digits.
func hash(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		fmt.Fprintf(h, "%d:%s;", len(p), p)
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}
