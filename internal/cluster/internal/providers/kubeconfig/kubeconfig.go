// Package kubeconfig uses an existing cluster (EKS, a colleague's kind, …)
// through a kubeconfig file and context. It never creates or deletes the
// cluster.
package kubeconfig

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers"
)

// reachTimeout bounds the reachability check in Up.
const reachTimeout = 15 * time.Second

type provider struct {
	o      providers.Options
	source string // the user's kubeconfig
	file   string // a minified copy pinned to the chosen context
	dir    string
}

// New returns the kubeconfig provider. The path defaults to $KUBECONFIG,
// then ~/.kube/config; the context to the file's current context.
func New(o providers.Options) (providers.Provider, error) {
	o.Defaults()
	source := o.Kubeconfig
	if source == "" {
		source = clientcmd.NewDefaultClientConfigLoadingRules().GetDefaultFilename()
	}
	return &provider{o: o, source: source}, nil
}

func (p *provider) load() (*clientcmdapi.Config, error) {
	if _, err := os.Stat(p.source); err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w; pass --kubeconfig with the path of your cluster's kubeconfig", p.source, err)
	}
	raw, err := clientcmd.LoadFromFile(p.source)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", p.source, err)
	}
	ctxName := p.o.Context
	if ctxName == "" {
		ctxName = raw.CurrentContext
	}
	if _, ok := raw.Contexts[ctxName]; !ok || ctxName == "" {
		names := make([]string, 0, len(raw.Contexts))
		for n := range raw.Contexts {
			names = append(names, n)
		}
		return nil, fmt.Errorf("kubeconfig %s has no context %q (contexts: %v); pass --context", p.source, ctxName, names)
	}
	raw.CurrentContext = ctxName
	return raw, nil
}

// Up checks that the cluster answers. It creates nothing.
func (p *provider) Up(ctx context.Context) error {
	raw, err := p.load()
	if err != nil {
		return err
	}
	cfg, err := clientcmd.NewDefaultClientConfig(*raw, &clientcmd.ConfigOverrides{}).ClientConfig()
	if err != nil {
		return fmt.Errorf("kubeconfig %s context %q: %w", p.source, raw.CurrentContext, err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = reachTimeout
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return err
	}
	done := make(chan error, 1)
	go func() {
		_, err := dc.ServerVersion()
		done <- err
	}()
	select {
	case err = <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("cluster %s (context %q in %s) is unreachable: %w; check the endpoint, your network and credentials", cfg.Host, raw.CurrentContext, p.source, err)
	}
	// A self-contained copy pinned to the context, so every consumer
	// (e2e-framework, kubectl in diagnostics) talks to the same cluster.
	if err := clientcmdapi.MinifyConfig(raw); err != nil {
		return err
	}
	if err := clientcmdapi.FlattenConfig(raw); err != nil {
		return err
	}
	if p.dir == "" {
		if p.dir, err = os.MkdirTemp("", "eventcheck-kubeconfig-"); err != nil {
			return err
		}
	}
	p.file = filepath.Join(p.dir, "kubeconfig")
	if err := clientcmd.WriteToFile(*raw, p.file); err != nil {
		return fmt.Errorf("failed to write pinned kubeconfig: %w", err)
	}
	p.o.Log.Info("using existing cluster", "server", cfg.Host, "context", raw.CurrentContext)
	return nil
}

// Running is false: the cluster is not one eventcheck started.
func (p *provider) Running(context.Context) bool { return false }

func (p *provider) Kubeconfig() string {
	if p.file != "" {
		return p.file
	}
	return p.source
}

func (p *provider) RESTConfig() (*rest.Config, error) {
	raw, err := p.load()
	if err != nil {
		return nil, err
	}
	return clientcmd.NewDefaultClientConfig(*raw, &clientcmd.ConfigOverrides{}).ClientConfig()
}

// Down removes only our pinned copy; the cluster is not ours to delete.
func (p *provider) Down(context.Context) error {
	if p.dir != "" {
		return os.RemoveAll(p.dir)
	}
	return nil
}

func (p *provider) ExportLogs(context.Context, string) error {
	return fmt.Errorf("exporting component logs of an existing cluster: %w", providers.ErrNotSupported)
}

// RestartAPIServer: a cluster we did not create is not ours to restart.
func (p *provider) RestartAPIServer(context.Context) error { return providers.ErrNotSupported }

func (p *provider) LoadImageArchive(context.Context, string) error {
	return fmt.Errorf("loading images into an existing cluster (push the image to a registry it can pull from): %w", providers.ErrNotSupported)
}
