// Package kind runs the cluster in containers with kind, used as a library
// (sigs.k8s.io/kind/pkg/cluster), never through the kind CLI.
package kind

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	kinddefaults "sigs.k8s.io/kind/pkg/apis/config/defaults"
	kindcluster "sigs.k8s.io/kind/pkg/cluster"
	"sigs.k8s.io/kind/pkg/cluster/nodeutils"
	kindexec "sigs.k8s.io/kind/pkg/exec"
	kindlog "sigs.k8s.io/kind/pkg/log"

	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers"
	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/images"
	"github.com/eventcheck/eventcheck/internal/logtail"
)

type provider struct {
	o    providers.Options
	kind *kindcluster.Provider
	eng  *engine.Engine
	// image is the node image Prepare settled on.
	image   string
	created bool
}

// New returns the kind provider. The kubeconfig goes to a file of ours
// (default: the user's cache directory), never ~/.kube/config.
func New(o providers.Options) (providers.Provider, error) {
	o.Defaults()
	if o.ConfigFile != "" {
		cfg, err := loadConfig(o.ConfigFile)
		if err != nil {
			return nil, err
		}
		// The cluster name in the file wins over the default, as with kind.
		if cfg.Name != "" && o.Name == "eventcheck" {
			o.Name = cfg.Name
		}
	}
	if o.Kubeconfig == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("failed to find a place for the kind kubeconfig (set --kubeconfig): %w", err)
		}
		o.Kubeconfig = filepath.Join(cache, "eventcheck", "kind", o.Name+".kubeconfig")
	}
	return &provider{o: o}, nil
}

// engineProvider returns kind's provider for the running engine, or a
// clear error in bounded time when there is none.
func (p *provider) engineProvider(ctx context.Context) (*kindcluster.Provider, error) {
	if p.kind != nil {
		return p.kind, nil
	}
	eng, err := engine.Detect(ctx)
	if err != nil {
		return nil, fmt.Errorf("the kind cluster provider needs a running container engine: %w; start Docker (or Podman) or use --cluster local", err)
	}
	opt := map[string]kindcluster.ProviderOption{
		"docker":  kindcluster.ProviderWithDocker(),
		"podman":  kindcluster.ProviderWithPodman(),
		"nerdctl": kindcluster.ProviderWithNerdctl("nerdctl"),
	}[eng.Binary]
	p.kind, p.eng = kindcluster.NewProvider(opt, kindcluster.ProviderWithLogger(slogAdapter{p.o})), eng
	return p.kind, nil
}

// Prepare makes sure the node image is there: kind's, or one built here
// when kind's cannot be pulled (cached). The harness prepares every part
// before any starts, so no readiness wait runs beside this build; Up
// prepares when nobody did.
func (p *provider) Prepare(ctx context.Context) error {
	if p.image != "" {
		return nil
	}
	k, err := p.engineProvider(ctx)
	if err != nil {
		return err
	}
	image := cmp.Or(p.o.NodeImage, kinddefaults.Image)
	if existing, err := k.List(); err == nil && slices.Contains(existing, p.o.Name) {
		p.image = image // reused: its nodes run already
		return nil
	}
	// Decided before kind tries to pull and fails after its own timeout:
	// kind's own image cannot be had, so one is built here (cached).
	if p.eng.Missing(ctx, image) != nil && !engine.RegistryAnswers(ctx) {
		if p.o.NodeImage != "" {
			return fmt.Errorf("kind node image %s is not in the %s engine and no image registry answers (%s): load it (docker load -i FILE), or leave --node-image out to use one built here, or use --cluster local", image, p.eng.Binary, engine.RegistryURL)
		}
		p.o.Log.Info("kind's node image cannot be pulled (no registry answers): using one built here (cached by content)", "instead of", image)
		b, err := images.New(ctx, "", p.o.Log)
		if err != nil {
			return err
		}
		if image, err = b.KindNode(ctx); err != nil {
			return fmt.Errorf("kind node image %s cannot be pulled and building one here failed: %w; load an image and pass --node-image, or use --cluster local", kinddefaults.Image, err)
		}
	}
	p.image = image
	return nil
}

func (p *provider) Up(ctx context.Context) error {
	if err := p.Prepare(ctx); err != nil {
		return err
	}
	k, image := p.kind, p.image
	if err := os.MkdirAll(filepath.Dir(p.o.Kubeconfig), 0o755); err != nil {
		return fmt.Errorf("failed to create directory for kubeconfig %s: %w", p.o.Kubeconfig, err)
	}
	existing, err := k.List()
	if err != nil {
		return fmt.Errorf("failed to list kind clusters: %w", err)
	}
	if slices.Contains(existing, p.o.Name) {
		p.o.Log.Info("reusing kind cluster", "name", p.o.Name)
		if err := k.ExportKubeConfig(p.o.Name, p.o.Kubeconfig, false); err != nil {
			return fmt.Errorf("failed to write kubeconfig for kind cluster %q: %w", p.o.Name, err)
		}
		return nil
	}
	opts := []kindcluster.CreateOption{
		kindcluster.CreateWithKubeconfigPath(p.o.Kubeconfig),
		kindcluster.CreateWithWaitForReady(p.o.ReadyTimeout),
		kindcluster.CreateWithDisplayUsage(false),
		kindcluster.CreateWithDisplaySalutation(false),
	}
	if p.o.ConfigFile != "" {
		opts = append(opts, kindcluster.CreateWithConfigFile(p.o.ConfigFile))
	} else {
		// Outside this repository (a workshop's own CI) there is no
		// kind-config.yaml: use the built-in one, so scenario-c still reads
		// "0/3 nodes are available" as in the workshop.
		cfg, err := defaultConfig()
		if err != nil {
			return err
		}
		opts = append(opts, kindcluster.CreateWithV1Alpha4Config(cfg))
	}
	if image != kinddefaults.Image {
		opts = append(opts, kindcluster.CreateWithNodeImage(image))
	}
	start := time.Now()
	// kind's Create does not take a context; it is bounded by the wait
	// option above.
	if err := k.Create(p.o.Name, opts...); err != nil {
		return fmt.Errorf("failed to create kind cluster %q: %w%s", p.o.Name, err, engineSaid(err))
	}
	p.created = true
	cfg, err := p.RESTConfig()
	if err != nil {
		return err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return fmt.Errorf("failed to make a client for kind cluster %q: %w", p.o.Name, err)
	}
	// As long as kind may take for the control plane: on a loaded 2-core
	// machine kube-proxy's start on a node can fail for minutes (runc:
	// "unable to freeze"), and nothing on that node reaches the Service.
	if err := waitPodsReachAPIServer(ctx, kube, p.o.ReadyTimeout, p.o.Log.Info); err != nil {
		return fmt.Errorf("kind cluster %q: %w", p.o.Name, err)
	}
	p.o.Log.Info("kind cluster ready", "name", p.o.Name, "elapsed", time.Since(start).Round(time.Second))
	return nil
}

// Running reports whether a kind cluster of this name exists.
func (p *provider) Running(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	defer cancel()
	k, err := p.engineProvider(ctx)
	if err != nil {
		return false
	}
	names, err := k.List()
	return err == nil && slices.Contains(names, p.o.Name)
}

func (p *provider) Kubeconfig() string { return p.o.Kubeconfig }

func (p *provider) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", p.o.Kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("failed to load kind kubeconfig %s: %w", p.o.Kubeconfig, err)
	}
	return cfg, nil
}

func (p *provider) Down(ctx context.Context) error {
	k, err := p.engineProvider(ctx)
	if err != nil {
		return err
	}
	if err := k.Delete(p.o.Name, p.o.Kubeconfig); err != nil {
		return fmt.Errorf("failed to delete kind cluster %q: %w", p.o.Name, err)
	}
	return nil
}

func (p *provider) ExportLogs(ctx context.Context, dir string) error {
	k, err := p.engineProvider(ctx)
	if err != nil {
		return err
	}
	if err := k.CollectLogs(p.o.Name, dir); err != nil {
		return fmt.Errorf("failed to export logs of kind cluster %q: %w", p.o.Name, err)
	}
	return nil
}

func (p *provider) RestartAPIServer(context.Context) error { return providers.ErrNotSupported }

func (p *provider) LoadImageArchive(ctx context.Context, path string) error {
	k, err := p.engineProvider(ctx)
	if err != nil {
		return err
	}
	nodes, err := k.ListInternalNodes(p.o.Name)
	if err != nil {
		return fmt.Errorf("failed to list nodes of kind cluster %q: %w", p.o.Name, err)
	}
	var errs []error
	for _, n := range nodes {
		f, err := os.Open(path)
		if err != nil {
			return fmt.Errorf("failed to open image archive: %w", err)
		}
		if err := nodeutils.LoadImageArchive(n, f); err != nil {
			errs = append(errs, fmt.Errorf("node %s: %w", n.String(), err))
		}
		f.Close()
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("failed to load image archive %s into kind cluster %q: %w", path, p.o.Name, err)
	}
	return nil
}

// slogAdapter routes kind's logger to slog.
type slogAdapter struct{ o providers.Options }

func (a slogAdapter) Warn(msg string)                          { a.o.Log.Warn(msg) }
func (a slogAdapter) Warnf(f string, args ...any)              { a.o.Log.Warn(fmt.Sprintf(f, args...)) }
func (a slogAdapter) Error(msg string)                         { a.o.Log.Error(msg) }
func (a slogAdapter) Errorf(f string, args ...any)             { a.o.Log.Error(fmt.Sprintf(f, args...)) }
func (a slogAdapter) V(level kindlog.Level) kindlog.InfoLogger { return infoAdapter{a.o, level} }

type infoAdapter struct {
	o     providers.Options
	level kindlog.Level
}

func (i infoAdapter) Info(msg string) { i.o.Log.Debug(msg, "v", i.level) }
func (i infoAdapter) Infof(f string, args ...any) {
	i.o.Log.Debug(fmt.Sprintf(f, args...), "v", i.level)
}
func (i infoAdapter) Enabled() bool { return i.level <= 1 }

// engineSaid is the output of the command kind ran that failed (kind's
// error names only the command and its exit status): "unable to apply
// caps: operation not permitted", for one, is why --privileged nodes cannot
// start on a host whose capability bounding set is short.
func engineSaid(err error) string {
	re := kindexec.RunErrorForError(err)
	if re == nil || len(bytes.TrimSpace(re.Output)) == 0 {
		return ""
	}
	return "; it said: " + logtail.Lines(strings.TrimSpace(string(re.Output)), 5)
}
