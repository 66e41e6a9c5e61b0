// Package url connects to any OpenSearch endpoint: plain, basic auth, TLS
// with a CA or client certificate, or AWS SigV4 (Amazon OpenSearch
// Service). It starts and stops nothing.
package url

import (
	"context"
	"fmt"
	"time"

	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers"
)

// reachTimeout bounds the first contact.
const reachTimeout = 20 * time.Second

type provider struct{ o providers.Options }

// New returns the url provider for o.Endpoint.
func New(o providers.Options) (providers.Provider, error) {
	o.Defaults()
	if o.Endpoint.URL == "" {
		return nil, fmt.Errorf("the url OpenSearch provider needs --opensearch-url")
	}
	return &provider{o: o}, nil
}

// Start checks the endpoint answers with valid credentials and is healthy.
func (p *provider) Start(ctx context.Context) (*providers.Instance, error) {
	client, err := providers.NewClient(ctx, p.o.Endpoint)
	if err != nil {
		return nil, err
	}
	reach, cancel := context.WithTimeout(ctx, reachTimeout)
	defer cancel()
	if err := providers.Ping(reach, client, p.o.Endpoint); err != nil {
		return nil, err
	}
	health, cancel2 := context.WithTimeout(ctx, p.o.ReadyTimeout)
	defer cancel2()
	if err := providers.WaitHealthy(health, client, nil); err != nil {
		return nil, fmt.Errorf("OpenSearch at %s: %w", p.o.Endpoint.URL, err)
	}
	p.o.Log.Info("using OpenSearch", "endpoint", p.o.Endpoint)
	return &providers.Instance{Endpoint: p.o.Endpoint, Client: client}, nil
}

func (p *provider) Stop(context.Context) error { return nil }

func (p *provider) ExportLogs(context.Context, string) error {
	return fmt.Errorf("server logs of %s: %w", p.o.Endpoint.URL, providers.ErrNotSupported)
}
