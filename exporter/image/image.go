// Package image builds the exporter's container image without Docker, the
// way ko does: a static Go binary as the only layer of an otherwise empty
// image, written as a `docker save` style tarball that kind loads into its
// nodes. Nothing is pulled: there is no base image.
package image

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// DefaultTag is the image exporter/deploy refers to.
const DefaultTag = "eventcheck.local/events-exporter:dev"

// Binary is where the exporter lives in the image.
const Binary = "/events-exporter"

// nonRoot is the user the image runs as (distroless' "nonroot").
const nonRoot = 65532

// Package is the exporter's main package.
const Package = "github.com/eventcheck/eventcheck/cmd/events-exporter"

// Build compiles the exporter for linux/arch and writes the image tarball
// to out, tagged tag: from the module in moduleDir, or — for an installed
// eventcheck without its source — the exporter of the same version from
// the module proxy (version from the running binary's build info).
func Build(ctx context.Context, moduleDir, arch, tag, out string) error {
	ref, err := name.NewTag(tag)
	if err != nil {
		return fmt.Errorf("image tag %q: %w", tag, err)
	}
	tmp, err := os.MkdirTemp("", "events-exporter-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "events-exporter")
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-ldflags=-s -w", "-o", bin, "./cmd/events-exporter")
	cmd.Dir = moduleDir
	if moduleDir == "" {
		version := "latest"
		if info, ok := debug.ReadBuildInfo(); ok && info.Main.Version != "" && info.Main.Version != "(devel)" {
			version = info.Main.Version
		}
		cmd = exec.CommandContext(ctx, "go", "install", "-trimpath", "-ldflags=-s -w", Package+"@"+version)
		cmd.Env = append(cmd.Env, "GOBIN="+tmp)
	}
	cmd.Env = append(append(os.Environ(), cmd.Env...), "CGO_ENABLED=0", "GOOS=linux", "GOARCH="+arch)
	if output, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("failed to build the exporter binary: %v\n%s", err, strings.TrimSpace(string(output)))
	}
	layer, err := binaryLayer(bin)
	if err != nil {
		return err
	}
	img, err := mutate.AppendLayers(mutate.MediaType(empty.Image, types.OCIManifestSchema1), layer)
	if err != nil {
		return err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture = "linux", arch
	cf.Created = v1.Time{Time: time.Unix(0, 0)} // reproducible
	cf.Config = v1.Config{
		Entrypoint: []string{Binary},
		User:       fmt.Sprintf("%d:%d", nonRoot, nonRoot),
		Labels:     map[string]string{"org.opencontainers.image.title": "events-exporter"},
	}
	if img, err = mutate.ConfigFile(img, cf); err != nil {
		return err
	}
	if err := tarball.WriteToFile(out, ref, img); err != nil {
		return fmt.Errorf("failed to write image %s: %w", out, err)
	}
	return nil
}

// binaryLayer is a one-file layer: the binary, executable, owned by the
// non-root user.
func binaryLayer(path string) (v1.Layer, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	if err := tw.WriteHeader(&tar.Header{
		Name: strings.TrimPrefix(Binary, "/"), Mode: 0o755, Size: int64(len(data)),
		Uid: nonRoot, Gid: nonRoot, Typeflag: tar.TypeReg, ModTime: time.Unix(0, 0),
	}); err != nil {
		return nil, err
	}
	if _, err := tw.Write(data); err != nil {
		return nil, err
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	layerBytes := buf.Bytes()
	return tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerBytes)), nil
	}, tarball.WithMediaType(types.OCILayer))
}
