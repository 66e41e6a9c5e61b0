// Package providers holds the contract every cluster backend implements and
// the options they share. Backends live in sub-packages and export only a
// constructor; package cluster picks one.
package providers

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"k8s.io/client-go/rest"
)

// Provider is one way of having a Kubernetes cluster.
type Provider interface {
	// Up creates the cluster, or reuses a running one of the same name,
	// and returns when it is ready for workloads.
	Up(ctx context.Context) error
	// Running reports whether the cluster already runs (one `eventcheck
	// env up` started, say): Up would reuse it. A provider that never
	// creates clusters answers false.
	Running(ctx context.Context) bool
	// Kubeconfig is the path of a kubeconfig file for the cluster (valid
	// after Up); its current context is the cluster.
	Kubeconfig() string
	// RESTConfig is the client configuration for the cluster (after Up).
	RESTConfig() (*rest.Config, error)
	// Down removes what Up created. A cluster the provider did not create
	// is left alone.
	Down(ctx context.Context) error
	// ExportLogs writes the cluster's component logs under dir.
	ExportLogs(ctx context.Context, dir string) error
	// LoadImageArchive makes the images of a `docker save` style archive
	// available to every node, or returns ErrNotSupported.
	LoadImageArchive(ctx context.Context, path string) error
	// RestartAPIServer stops the API server process alone, as a real
	// control plane's restart does, and returns once a new one serves on
	// the same data; or returns ErrNotSupported.
	RestartAPIServer(ctx context.Context) error
}

// ErrNotSupported is returned by operations a provider cannot do.
var ErrNotSupported = errors.New("not supported by this cluster provider")

// Options are shared by all providers; each reads the fields it needs.
type Options struct {
	// Name of the cluster (kind cluster name, local state directory name).
	Name string
	// Dir holds local cluster state (local).
	Dir string
	// ConfigFile is a provider config file (kind: kind-config.yaml).
	ConfigFile string
	// Kubeconfig is the kubeconfig to use (kubeconfig) or to write (kind).
	Kubeconfig string
	// Context selects a kubeconfig context (kubeconfig).
	Context string
	// Nodes is the number of nodes (local).
	Nodes int
	// NodeImage is the node image (kind).
	NodeImage string
	// Binary is the localcluster binary (local).
	Binary string
	// APIServerPort fixes the apiserver port (local; 0 picks a free one).
	APIServerPort int
	// Detach keeps the cluster running after this process exits (local).
	Detach bool
	// ImageArchives (`docker save` archives) and EngineImages (references
	// the local container engine holds) are made pullable by every node
	// once Up returns.
	ImageArchives, EngineImages []string
	// ReadyTimeout bounds Up.
	ReadyTimeout time.Duration
	Log          *slog.Logger
}

// Defaults fills unset fields.
func (o *Options) Defaults() {
	if o.Name == "" {
		o.Name = "eventcheck"
	}
	if o.Nodes == 0 {
		o.Nodes = 3
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 5 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}
