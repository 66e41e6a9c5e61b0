// Package cluster is the one entry point to a Kubernetes cluster for
// eventcheck: pick a provider by name (kind, local, kubeconfig, or auto) and
// configure it with options. The backends, one package each under
// internal/providers, are private to it.
package cluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers"
	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers/kind"
	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers/kubeconfig"
	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers/local"
	"github.com/eventcheck/eventcheck/internal/engine"
)

// Provider is a cluster backend; see providers.Provider.
type Provider = providers.Provider

// ErrNotSupported is returned by operations a provider cannot do.
var ErrNotSupported = providers.ErrNotSupported

// Provider names.
const (
	Auto       = "auto"
	Kind       = "kind"
	Local      = "local"
	Kubeconfig = "kubeconfig"
)

// Names lists the accepted provider names.
var Names = []string{Auto, Kind, Local, Kubeconfig}

// Option configures a provider. Options apply in order and may fail.
type Option func(*providers.Options) error

// WithName names the cluster.
func WithName(name string) Option {
	return func(o *providers.Options) error { o.Name = name; return nil }
}

// WithDir sets where a local cluster keeps its state.
func WithDir(dir string) Option {
	return func(o *providers.Options) error { o.Dir = dir; return nil }
}

// WithConfigFile sets the provider's config file (kind-config.yaml).
func WithConfigFile(path string) Option {
	return func(o *providers.Options) error { o.ConfigFile = path; return nil }
}

// WithKubeconfig sets the kubeconfig to use (kubeconfig) or write (kind).
func WithKubeconfig(path, context string) Option {
	return func(o *providers.Options) error { o.Kubeconfig, o.Context = path, context; return nil }
}

// WithNodes sets the number of nodes of a local cluster.
func WithNodes(n int) Option {
	return func(o *providers.Options) error {
		if n < 1 {
			return fmt.Errorf("number of nodes must be at least 1, got %d", n)
		}
		o.Nodes = n
		return nil
	}
}

// WithNodeImage sets kind's node image.
func WithNodeImage(image string) Option {
	return func(o *providers.Options) error { o.NodeImage = image; return nil }
}

// WithBinary sets the localcluster binary.
func WithBinary(path string) Option {
	return func(o *providers.Options) error { o.Binary = path; return nil }
}

// WithDetach keeps a local cluster running after this process exits.
func WithDetach(detach bool) Option {
	return func(o *providers.Options) error { o.Detach = detach; return nil }
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(o *providers.Options) error { o.Log = l; return nil }
}

// New returns the named provider ("auto" is resolved before, by
// harness.Choose: one policy for the cluster and OpenSearch).
func New(name string, opts ...Option) (Provider, error) {
	var o providers.Options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	o.Defaults()
	p, err := build(name, o)
	if err != nil {
		return nil, err
	}
	return withImageLoader(name, p, o)
}

func build(name string, o providers.Options) (Provider, error) {
	switch name {
	case Kind:
		return kind.New(o)
	case Local:
		return local.New(o)
	case Kubeconfig:
		return kubeconfig.New(o)
	}
	return nil, fmt.Errorf("unknown cluster provider %q: use one of %v", name, Names)
}

// Detect chooses between kind and local and says why: kind when a
// container engine answers and holds the images (or can pull them).
func Detect(ctx context.Context, images ...string) (name, reason string) {
	eng, err := engine.Detect(ctx)
	if err != nil {
		return Local, err.Error()
	}
	// An engine that can neither find nor pull the images kind needs
	// cannot run the kind path: say so and take the local one.
	if missing := eng.Missing(ctx, images...); len(missing) > 0 && !engine.RegistryAnswers(ctx) {
		return Local, fmt.Sprintf("%s engine %s answers but holds no %s and no image registry answers (%s); build or load the images, then pass --cluster kind",
			eng.Binary, eng.Version, strings.Join(missing, ", "), engine.RegistryURL)
	}
	// kind's nodes are privileged containers; some hosts refuse them.
	if len(images) > 0 && len(eng.Missing(ctx, images[0])) == 0 {
		if err := eng.Privileged(ctx, images[0]); err != nil {
			return Local, fmt.Sprintf("%s engine %s cannot start a privileged container, as kind's nodes are (%v)", eng.Binary, eng.Version, err)
		}
	}
	return Kind, fmt.Sprintf("%s engine %s answers", eng.Binary, eng.Version)
}

// BuildLocalcluster compiles the localcluster module in src (a source
// tree's localcluster/) into the binary out; go build skips the link when
// out is up to date.
func BuildLocalcluster(ctx context.Context, src, out string, log *slog.Logger) error {
	return local.Build(ctx, src, out, log)
}

// BuildInstalledLocalcluster builds the localcluster module of this
// eventcheck's own module version (an installed CLI, outside the source
// tree) into a cache directory and returns the binary's path.
func BuildInstalledLocalcluster(ctx context.Context, log *slog.Logger) (string, error) {
	return local.BuildInstalled(ctx, log)
}

// IsNotSupported reports whether err says an operation is not supported.
func IsNotSupported(err error) bool { return errors.Is(err, ErrNotSupported) }
