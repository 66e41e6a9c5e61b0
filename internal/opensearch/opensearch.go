// Package opensearch is the one entry point to an OpenSearch for eventcheck:
// pick a provider by name (local, container, url, or auto) and configure it
// with options. The backends, one package each under internal/providers,
// are private to it.
package opensearch

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers"
	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers/container"
	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers/local"
	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers/url"
)

type (
	// Provider is an OpenSearch backend; see providers.Provider.
	Provider = providers.Provider
	// Instance is a running OpenSearch with a ready client.
	Instance = providers.Instance
	// Endpoint says how to reach an OpenSearch.
	Endpoint = providers.Endpoint
	// AWS holds SigV4 settings.
	AWS = providers.AWS
)

// ErrNotSupported is returned by operations a provider cannot do.
var ErrNotSupported = providers.ErrNotSupported

// Provider names.
const (
	Auto      = "auto"
	Local     = "local"
	Container = "container"
	URL       = "url"
)

// Names lists the accepted provider names.
var Names = []string{Auto, Local, Container, URL}

// Option configures a provider. Options apply in order and may fail.
type Option func(*providers.Options) error

// WithEndpoint sets the endpoint of the url provider.
func WithEndpoint(e Endpoint) Option {
	return func(o *providers.Options) error { o.Endpoint = e; return nil }
}

// WithVersion sets the OpenSearch version (local: x.y.z or a series such as
// 2.19; container: an image tag).
func WithVersion(v string) Option {
	return func(o *providers.Options) error { o.Version = v; return nil }
}

// WithImage runs this image instead of the official one (container).
func WithImage(ref string) Option {
	return func(o *providers.Options) error { o.Image = ref; return nil }
}

// WithZip uses a local copy of the distribution zip (local).
func WithZip(path string) Option {
	return func(o *providers.Options) error { o.Zip = path; return nil }
}

// WithDir keeps run state (data, logs) in dir (local).
func WithDir(dir string) Option {
	return func(o *providers.Options) error { o.Dir = dir; return nil }
}

// WithPort fixes the HTTP port (local).
func WithPort(port int) Option {
	return func(o *providers.Options) error {
		if port < 0 || port > 65535 {
			return fmt.Errorf("OpenSearch port %d out of range", port)
		}
		o.Port = port
		return nil
	}
}

// WithDetach keeps a local OpenSearch running after this process exits.
func WithDetach(detach bool) Option {
	return func(o *providers.Options) error { o.Detach = detach; return nil }
}

// WithJavaHome sets the JDK (local).
func WithJavaHome(home string) Option {
	return func(o *providers.Options) error { o.JavaHome = home; return nil }
}

// WithSecurity runs the local OpenSearch with its security plugin: HTTPS
// from a CA made for the run, an admin and the workshop's user (local).
func WithSecurity(on bool) Option {
	return func(o *providers.Options) error { o.Security = on; return nil }
}

// WithNetwork joins a container network with the alias "opensearch".
func WithNetwork(network string) Option {
	return func(o *providers.Options) error { o.Network = network; return nil }
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(o *providers.Options) error { o.Log = l; return nil }
}

// Process is a provider whose server is a process of this machine (local):
// Pid is its process id, 0 when not running. For measurements.
type Process interface{ Pid() int }

// ContainerOwnerLabel marks the containers the container provider starts
// with host/pid of the run that started them: a later run on the host
// removes those whose process is gone.
const ContainerOwnerLabel = container.OwnerLabel

// ConfigureTestcontainers sets what testcontainers-go reads process-wide
// (its reaper, off unless TESTCONTAINERS_RYUK_DISABLED says otherwise, and
// its global logger, silenced): main and TestMain call it once, before any
// container starts; no provider sets process-wide state.
func ConfigureTestcontainers() { container.ConfigureProcess() }

func apply(opts []Option) (providers.Options, error) {
	var o providers.Options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return o, err
		}
	}
	o.Defaults()
	return o, nil
}

// New returns the named provider ("auto" is resolved before, by
// harness.Choose: one policy for the cluster and OpenSearch).
func New(name string, opts ...Option) (Provider, error) {
	o, err := apply(opts)
	if err != nil {
		return nil, err
	}
	switch name {
	case Local:
		return local.New(o)
	case Container:
		return container.New(o)
	case URL:
		return url.New(o)
	}
	return nil, fmt.Errorf("unknown OpenSearch provider %q: use one of %v", name, Names)
}

// Prepared is what Prepare made ready.
type Prepared struct {
	// Home and Version are the unpacked distribution's.
	Home, Version string
	// JavaHome is the JDK it runs on, of major version JavaMajor.
	JavaHome  string
	JavaMajor int
}

// Prepare readies the local provider without starting anything (for CI
// set-up and offline use): it fetches and unpacks the distribution, checks
// Java and, as root, creates the system user OpenSearch runs as. It reads
// WithVersion, WithZip, WithJavaHome and WithLogger.
func Prepare(ctx context.Context, opts ...Option) (Prepared, error) {
	o, err := apply(opts)
	if err != nil {
		return Prepared{}, err
	}
	var p Prepared
	if p.Home, p.Version, err = local.Prepare(ctx, o); err != nil {
		return p, err
	}
	p.JavaHome, p.JavaMajor, err = local.FindJava(o.JavaHome)
	return p, err
}

// Detached reports the URL of the local OpenSearch that WithDetach left
// running with WithDir(dir), if its process is alive.
func Detached(dir string) (url string, ok bool) {
	url, _, ok = local.Detached(dir)
	return url, ok
}

// StopDetached stops the local OpenSearch that WithDetach left running
// with WithDir(dir), if any, and waits for it.
func StopDetached(dir string) error { return local.StopDetached(dir) }
