// Package existing is an exporter already installed in the cluster (a
// reader's cluster after the workshop's helm install): nothing is deployed
// or removed; the checks read the index its configuration writes.
package existing

import (
	"context"

	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/exporters/internal/providers"
)

type provider struct{ o providers.Options }

// New returns the existing backend.
func New(o providers.Options) providers.Provider { return &provider{o: o} }

// Start only says where the installed exporter writes: the index of the
// given config (the values it was installed with), else the workshop's.
func (p *provider) Start(context.Context, providers.Target) (*providers.Running, error) {
	if p.o.Values == nil {
		return &providers.Running{Index: eventindex.Pattern}, nil
	}
	index, err := p.o.Values.Index()
	if err != nil {
		return nil, err
	}
	// An installed exporter keys by uid only if its config says so.
	return &providers.Running{Index: index, KeyedByUID: p.o.Values.KeyedByUID(false)}, nil
}

// Stop leaves the installed exporter alone.
func (p *provider) Stop(context.Context) error { return nil }
