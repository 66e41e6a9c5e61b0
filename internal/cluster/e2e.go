package cluster

import (
	"context"
	"fmt"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/support"
)

// E2EProvider adapts any provider to e2e-framework's cluster provider, so
// envfuncs.CreateClusterWithConfig, DestroyCluster, ExportClusterLogs and
// LoadImageArchiveToCluster work with kind, local and kubeconfig alike.
type E2EProvider struct {
	name    string
	opts    []Option
	p       Provider
	version string
}

var _ support.E2EClusterProviderWithImageLoader = (*E2EProvider)(nil)

// NewE2EProvider returns an e2e-framework provider backed by the named
// cluster provider; it is built when the framework calls Create.
func NewE2EProvider(name string, opts ...Option) *E2EProvider {
	return &E2EProvider{name: name, opts: opts}
}

// Provider is the underlying provider (nil before Create).
func (e *E2EProvider) Provider() Provider { return e.p }

func (e *E2EProvider) WithName(name string) support.E2EClusterProvider {
	e.opts = append(e.opts, WithName(name))
	return e
}

// WithVersion is recorded but each provider decides its own Kubernetes
// version (kind: the node image; local: the localcluster build).
func (e *E2EProvider) WithVersion(version string) support.E2EClusterProvider {
	e.version = version
	return e
}

func (e *E2EProvider) WithPath(path string) support.E2EClusterProvider {
	e.opts = append(e.opts, WithBinary(path))
	return e
}

func (e *E2EProvider) WithOpts(opts ...support.ClusterOpts) support.E2EClusterProvider {
	for _, o := range opts {
		o(e)
	}
	return e
}

func (e *E2EProvider) SetDefaults() support.E2EClusterProvider { return e }

func (e *E2EProvider) Create(ctx context.Context, _ ...string) (string, error) {
	p, err := New(ctx, e.name, e.opts...)
	if err != nil {
		return "", err
	}
	if err := p.Up(ctx); err != nil {
		return "", err
	}
	e.p = p
	return p.Kubeconfig(), nil
}

func (e *E2EProvider) CreateWithConfig(ctx context.Context, configFile string) (string, error) {
	e.opts = append(e.opts, WithConfigFile(configFile))
	return e.Create(ctx)
}

func (e *E2EProvider) GetKubeconfig() string {
	if e.p == nil {
		return ""
	}
	return e.p.Kubeconfig()
}

func (e *E2EProvider) GenerateKubeconfig(...string) (string, error) {
	if e.p == nil {
		return "", fmt.Errorf("cluster not created")
	}
	return e.p.Kubeconfig(), nil
}

func (e *E2EProvider) GetKubectlContext() string { return "" }

func (e *E2EProvider) ExportLogs(ctx context.Context, dest string) error {
	if e.p == nil {
		return fmt.Errorf("cluster not created")
	}
	return e.p.ExportLogs(ctx, dest)
}

func (e *E2EProvider) Destroy(ctx context.Context) error {
	if e.p == nil {
		return nil
	}
	return e.p.Down(ctx)
}

// WaitForControlPlane checks the apiserver is ready; providers already
// wait for nodes in Up.
func (e *E2EProvider) WaitForControlPlane(ctx context.Context, client klient.Client) error {
	cs, err := kubernetes.NewForConfig(client.RESTConfig())
	if err != nil {
		return err
	}
	if _, err := cs.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		return fmt.Errorf("control plane not ready: %w", err)
	}
	return nil
}

func (e *E2EProvider) KubernetesRestConfig() *rest.Config {
	if e.p == nil {
		return nil
	}
	cfg, err := e.p.RESTConfig()
	if err != nil {
		return nil
	}
	return cfg
}

func (e *E2EProvider) LoadImage(context.Context, string, ...string) error {
	return fmt.Errorf("loading an image by name (use an image archive): %w", ErrNotSupported)
}

func (e *E2EProvider) LoadImageArchive(ctx context.Context, archivePath string, _ ...string) error {
	if e.p == nil {
		return fmt.Errorf("cluster not created")
	}
	return e.p.LoadImageArchive(ctx, archivePath)
}
