// Package providers holds the contract every backend of the exporter under
// test implements — ours, a Helm chart, any binary as a process, or one
// already installed — and what they share. Backends live in sub-packages
// and export only a constructor; package exporters picks one.
package providers

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/eventcheck/eventcheck/exporter/metrics"
	"github.com/eventcheck/eventcheck/internal/exportervalues"
	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// Provider is one way of having an events exporter between the cluster
// and OpenSearch.
type Provider interface {
	// Start puts the exporter to work for t and returns once it exports.
	Start(ctx context.Context, t Target) (*Running, error)
	// Stop undoes Start; an exporter Start did not deploy is left alone.
	Stop(ctx context.Context) error
}

// ErrUsage marks a choice that cannot work in this environment (for
// example pods on a cluster whose nodes run no containers).
var ErrUsage = errors.New("cannot be used here")

// Target is where the exporter works.
type Target struct {
	// ClusterKind is the cluster provider: local, kind or kubeconfig.
	ClusterKind string
	REST        *rest.Config
	Kube        kubernetes.Interface
	// Kubeconfig is the cluster's kubeconfig file.
	Kubeconfig string
	// LoadImageArchive makes an image archive pullable by every node.
	LoadImageArchive func(ctx context.Context, path string) error
	// Endpoint is OpenSearch as this machine reaches it; PodEndpoint as
	// pods in the cluster reach it.
	Endpoint, PodEndpoint opensearch.Endpoint
	// Client talks to that OpenSearch.
	Client *opensearchapi.Client
}

// Running is an exporter at work.
type Running struct {
	// Index is the index (or comma-separated patterns) it writes: what
	// the checks read.
	Index string
	// KeyedByUID is true when its documents' ids are event uids, so each
	// event has exactly one.
	KeyedByUID bool
	// Probes is the base URL of /readyz and /metrics when reachable.
	Probes string
	// Log is its output when it runs here; PodLogs reads it from pods.
	Log     *logtail.Buffer
	PodLogs func(ctx context.Context) (string, error)
	// Metrics are its instruments when it runs in this process.
	Metrics *metrics.Metrics
	// Rejections, when the exporter can tell, counts the documents
	// OpenSearch rejected for good and says why.
	Rejections func(ctx context.Context) (count int64, reasons []string, err error)
	// Notes say what about the run the checks cannot show (our index
	// template not applied), for the reports.
	Notes []string
}

// LogText is the exporter's log, wherever it is.
func (r *Running) LogText(ctx context.Context) (string, error) {
	switch {
	case r.PodLogs != nil:
		return r.PodLogs(ctx)
	case r.Log != nil:
		return string(r.Log.Bytes()), nil
	}
	return "", nil
}

// Options are shared by all backends; each reads the fields it needs.
type Options struct {
	// Values is the content's exporter config (nil: each backend's own).
	Values *exportervalues.Values
	// Image is the exporter image on a cluster that cannot build one.
	Image string
	// Command runs a process exporter; {config} and {kubeconfig} are
	// replaced by the paths of its rendered config and kubeconfig.
	Command []string
	// Chart is a Helm chart: an OCI reference, a repository URL or a
	// local directory; Release and Namespace say where it goes;
	// ChartVersion pins it ("" : the newest, as `helm install` does).
	Chart, ChartVersion, Release, Namespace string
	// ReadyTimeout bounds Start.
	ReadyTimeout time.Duration
	Log          *slog.Logger
}

// Content is the configuration a backend runs — the content's values, or
// defaults when it gives none — and the index it writes.
func (o *Options) Content(defaults func() (*exportervalues.Values, error)) (*exportervalues.Values, string, error) {
	values := o.Values
	if values == nil {
		var err error
		if values, err = defaults(); err != nil {
			return nil, "", err
		}
	}
	index, err := values.Index()
	if err != nil {
		return nil, "", err
	}
	return values, index, nil
}

// Defaults fills unset fields.
func (o *Options) Defaults() {
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 2 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}
