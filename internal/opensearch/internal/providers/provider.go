// Package providers holds the contract every OpenSearch backend implements
// and what they share: the endpoint description and how to turn it into a
// client. Backends live in sub-packages and export only a constructor.
package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
)

// Provider is one way of having an OpenSearch.
type Provider interface {
	// Start starts (or connects to) OpenSearch and returns when it is
	// healthy (yellow or green) with a ready client.
	Start(ctx context.Context) (*Instance, error)
	// Stop releases what Start made; connecting providers stop nothing.
	Stop(ctx context.Context) error
	// ExportLogs copies the server's logs under dir, for diagnostics.
	ExportLogs(ctx context.Context, dir string) error
}

// Instance is a running OpenSearch.
type Instance struct {
	// Endpoint is how this machine reaches it.
	Endpoint Endpoint
	// NetworkEndpoint is how containers on Options.Network reach it (a
	// container that joined one); nil otherwise.
	NetworkEndpoint *Endpoint
	Client          *opensearchapi.Client
	// Users are the internal users of a secured OpenSearch (local with
	// Security), each as an endpoint with its credentials: the admin
	// (Endpoint's) first, then the workshop's user.
	Users []Endpoint
}

// ErrNotSupported is returned by operations a provider cannot do.
var ErrNotSupported = errors.New("not supported by this OpenSearch provider")

// Options are shared by all providers; each reads the fields it needs.
type Options struct {
	// Endpoint to connect to (url).
	Endpoint Endpoint
	// Version of OpenSearch (local, container).
	Version string
	// Image runs instead of opensearchproject/opensearch:Version
	// (container). Empty: the official image, or one built here from
	// the integration-test distribution when the engine cannot pull.
	Image string
	// Zip is a local copy of the distribution, for offline use (local,
	// and container when it builds its image).
	Zip string
	// Dir holds run state: data, logs (local). Data in it survives a
	// restart; a temporary directory is used when empty.
	Dir string
	// Port fixes the HTTP port (local; 0 picks a free one). With Dir, a
	// restarted server is found at the same address with the same data.
	Port int
	// Detach keeps the server running after this process exits (local,
	// with Dir): its pid and endpoint are written there for Stop and
	// Running.
	Detach bool
	// CacheDir holds downloaded and unpacked distributions (local,
	// container).
	CacheDir string
	// JavaHome overrides the JDK (local).
	JavaHome string
	// Security runs the local distribution with the security plugin: TLS
	// on HTTP and transport from a CA made for the run, internal users.
	Security bool
	// Heap is the JVM heap, e.g. "512m" (local, container).
	Heap string
	// Network is a container network to join with the alias "opensearch"
	// (container; kind's network so pods reach http://opensearch:9200).
	Network string
	// ReadyTimeout bounds Start.
	ReadyTimeout time.Duration
	Log          *slog.Logger
}

// Defaults fills unset fields.
func (o *Options) Defaults() {
	if o.Heap == "" {
		o.Heap = "512m"
	}
	if o.ReadyTimeout == 0 {
		o.ReadyTimeout = 3 * time.Minute
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
}

// WaitHealthy polls cluster health until yellow or green, or until ctx
// ends; died, if not nil, reports the server exiting early.
func WaitHealthy(ctx context.Context, c *opensearchapi.Client, died <-chan error) error {
	var last error
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		reqCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		resp, err := c.Cluster.Health(reqCtx, &opensearchapi.ClusterHealthReq{})
		cancel()
		if err == nil && (resp.Status == "yellow" || resp.Status == "green") {
			return nil
		}
		if err != nil {
			last = err
		} else {
			last = fmt.Errorf("cluster health is %s", resp.Status)
		}
		select {
		case err := <-died:
			return fmt.Errorf("OpenSearch exited before it was healthy: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("OpenSearch not healthy: %w (last: %v)", ctx.Err(), last)
		case <-tick.C:
		}
	}
}
