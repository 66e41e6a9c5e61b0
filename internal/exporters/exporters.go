// Package exporters is the one entry point to the events exporter under
// test: pick a backend by name (builtin, helm, process, existing) and
// configure it with options, as package cluster does for clusters. The
// backends, one package each under internal/providers, are private to it.
package exporters

import (
	"fmt"
	"log/slog"

	"github.com/google/shlex"

	"github.com/eventcheck/eventcheck/internal/exporters/internal/providers"
	"github.com/eventcheck/eventcheck/internal/exporters/internal/providers/builtin"
	"github.com/eventcheck/eventcheck/internal/exporters/internal/providers/existing"
	"github.com/eventcheck/eventcheck/internal/exporters/internal/providers/helm"
	"github.com/eventcheck/eventcheck/internal/exporters/internal/providers/process"
	"github.com/eventcheck/eventcheck/internal/exportervalues"
)

// Provider is an exporter backend; see providers.Provider.
type Provider = providers.Provider

// Running is an exporter at work; see providers.Running.
type Running = providers.Running

// Target is where an exporter works; see providers.Target.
type Target = providers.Target

// Backend names.
const (
	Builtin  = "builtin"
	Helm     = "helm"
	Process  = "process"
	Existing = "existing"
)

// Names lists the accepted backend names.
var Names = []string{Builtin, Helm, Process, Existing}

// ErrUsage marks a backend that cannot work in this environment.
var ErrUsage = providers.ErrUsage

// Option configures a backend. Options apply in order and may fail.
type Option func(*providers.Options) error

// WithValues runs the content's configuration (nil: the backend's own).
func WithValues(v *exportervalues.Values) Option {
	return func(o *providers.Options) error { o.Values = v; return nil }
}

// WithImage sets the exporter image for clusters that pull it.
func WithImage(image string) Option {
	return func(o *providers.Options) error { o.Image = image; return nil }
}

// WithCommand sets a process exporter's command line, split as a shell
// would ({config} and {kubeconfig} are replaced when it starts).
func WithCommand(command string) Option {
	return func(o *providers.Options) error {
		if command == "" {
			return nil
		}
		args, err := shlex.Split(command)
		if err != nil {
			return fmt.Errorf("--exporter-command %q: %w", command, err)
		}
		o.Command = args
		return nil
	}
}

// WithChart sets the Helm chart (a directory or archive, oci://…, or
// REPO_URL/CHART), its release name and namespace ("" for defaults).
func WithChart(chart, release, namespace string) Option {
	return func(o *providers.Options) error {
		o.Chart, o.Release, o.Namespace = chart, release, namespace
		return nil
	}
}

// WithChartVersion pins the Helm chart's version ("" for the newest, as
// `helm install` without --version takes).
func WithChartVersion(version string) Option {
	return func(o *providers.Options) error { o.ChartVersion = version; return nil }
}

// AirGappedSet are the --set lines that make a chart shaped as the
// workshop's run image, loaded into the nodes (--image-archive,
// --load-image) because no registry serves it; see helm.AirGappedSet.
func AirGappedSet(image string) []string { return helm.AirGappedSet(image) }

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option {
	return func(o *providers.Options) error { o.Log = l; return nil }
}

// New returns the named backend.
func New(name string, opts ...Option) (Provider, error) {
	var o providers.Options
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	o.Defaults()
	switch name {
	case Builtin, "":
		return builtin.New(o), nil
	case Process:
		if len(o.Command) == 0 {
			return nil, fmt.Errorf("--exporter process needs --exporter-command, e.g. \"kubernetes-event-exporter -conf {config}\"")
		}
		return process.New(o, builtin.DefaultValues), nil
	case Helm:
		if o.ChartVersion != "" && o.Chart == "" {
			return nil, fmt.Errorf("--exporter-chart-version needs --exporter-chart: the chart whose version it pins")
		}
		return helm.New(o, builtin.DefaultValues), nil
	case Existing:
		return existing.New(o), nil
	}
	return nil, fmt.Errorf("--exporter %q: use one of %v", name, Names)
}
