package cluster

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers"
	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/logtail"
)

// WithImages makes images pullable by every node as soon as the cluster
// is up, before anything is deployed on it: archives are `docker save`
// tarballs, refs images the local container engine holds. For charts and
// exporters whose image no registry serves (air-gapped CI, our machines).
func WithImages(archives, refs []string) Option {
	return func(o *providers.Options) error {
		o.ImageArchives = append(o.ImageArchives, archives...)
		o.EngineImages = append(o.EngineImages, refs...)
		return nil
	}
}

// imageLoader is a provider whose Up ends with its images loaded.
type imageLoader struct {
	Provider
	archives, refs []string
	log            *slog.Logger
}

// withImageLoader wraps p when the options name images.
func withImageLoader(name string, p Provider, o providers.Options) (Provider, error) {
	if len(o.ImageArchives) == 0 && len(o.EngineImages) == 0 {
		return p, nil
	}
	if err := CheckImages(name, o.ImageArchives, o.EngineImages); err != nil {
		return nil, err
	}
	return &imageLoader{Provider: p, archives: o.ImageArchives, refs: o.EngineImages, log: o.Log}, nil
}

// CheckImages refuses images for a cluster that pulls only from
// registries, naming the flag: before anything starts, not after the
// cluster is up.
func CheckImages(name string, archives, refs []string) error {
	if name != Kubeconfig || len(archives)+len(refs) == 0 {
		return nil
	}
	flag := "--image-archive"
	if len(archives) == 0 {
		flag = "--load-image"
	}
	return fmt.Errorf("%s: an existing cluster (--cluster kubeconfig) pulls its images from registries only; push the image to a registry its nodes reach, or use --cluster kind or local", flag)
}

func (p *imageLoader) Up(ctx context.Context) error {
	if err := p.Provider.Up(ctx); err != nil {
		return err
	}
	for _, archive := range p.archives {
		start := time.Now()
		if err := p.LoadImageArchive(ctx, archive); err != nil {
			return fmt.Errorf("--image-archive %s: %w", archive, err)
		}
		p.log.Info("image archive loaded into every node", "archive", archive, "elapsed", time.Since(start).Round(time.Millisecond))
	}
	if len(p.refs) == 0 {
		return nil
	}
	eng, err := engine.Detect(ctx)
	if err != nil {
		return fmt.Errorf("--load-image %s: the image comes from the local container engine, and none answers: %w", p.refs[0], err)
	}
	dir, err := os.MkdirTemp("", "eventcheck-load-image-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	for i, ref := range p.refs {
		start := time.Now()
		if len(eng.Missing(ctx, ref)) > 0 {
			return fmt.Errorf("--load-image %s: the %s engine holds no such image; build, pull or load it first, or give its archive with --image-archive", ref, eng.Binary)
		}
		archive := filepath.Join(dir, fmt.Sprintf("image-%d.tar", i))
		if out, err := exec.CommandContext(ctx, eng.Binary, "save", "-o", archive, ref).CombinedOutput(); err != nil {
			return fmt.Errorf("--load-image %s: %s save: %v: %s", ref, eng.Binary, err, logtail.Lines(strings.TrimSpace(string(out)), 3))
		}
		if err := p.LoadImageArchive(ctx, archive); err != nil {
			return fmt.Errorf("--load-image %s: %w", ref, err)
		}
		os.Remove(archive) // one image's archive on disk at a time
		p.log.Info("engine image loaded into every node", "image", ref, "elapsed", time.Since(start).Round(time.Millisecond))
	}
	return nil
}
