// Package chartregistry serves Helm charts as OCI artifacts from this
// machine's loopback, so an `oci://` chart reference is tested for real
// where no registry is reachable: an in-memory OCI registry on
// 127.0.0.1, and `helm package` + `helm push` through Helm's SDK.
package chartregistry

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"time"

	ggcrregistry "github.com/google/go-containerregistry/pkg/registry"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/registry"
)

// Registry is an OCI registry on loopback, its content in memory.
type Registry struct {
	// Host is host:port, as an oci:// reference names it.
	Host string
	srv  *http.Server
	done chan error
}

// Serve starts a registry on a free loopback port; Close stops it.
func Serve() (*Registry, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, fmt.Errorf("chart registry: listen on loopback: %w", err)
	}
	r := &Registry{Host: l.Addr().String(), done: make(chan error, 1),
		srv: &http.Server{Handler: ggcrregistry.New(ggcrregistry.Logger(log.New(io.Discard, "", 0))), ReadHeaderTimeout: 10 * time.Second}}
	go func() { r.done <- r.srv.Serve(l) }()
	return r, nil
}

// Close stops the registry within ctx.
func (r *Registry) Close(ctx context.Context) error {
	err := r.srv.Shutdown(ctx)
	if serr := <-r.done; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	return err
}

// Push packages the chart directory dir (as `helm package`) and pushes it
// under repo (as `helm push CHART oci://HOST/REPO`), returning the chart's
// reference (oci://HOST/REPO/NAME, to install with its version) and that
// version.
func (r *Registry) Push(ctx context.Context, dir, repo string) (ref, version string, err error) {
	tmp, err := os.MkdirTemp("", "chartregistry-")
	if err != nil {
		return "", "", err
	}
	defer os.RemoveAll(tmp)
	pkg := action.NewPackage()
	pkg.Destination = tmp
	archive, err := pkg.Run(dir, nil)
	if err != nil {
		return "", "", fmt.Errorf("helm package %s: %w", dir, err)
	}
	ch, err := loader.LoadFile(archive)
	if err != nil {
		return "", "", fmt.Errorf("helm package %s: %w", dir, err)
	}
	meta := ch.(*chartv2.Chart).Metadata
	data, err := os.ReadFile(archive)
	if err != nil {
		return "", "", err
	}
	rc, err := registry.NewClient(registry.ClientOptPlainHTTP(), registry.ClientOptWriter(io.Discard))
	if err != nil {
		return "", "", fmt.Errorf("helm registry client: %w", err)
	}
	// Helm's registry client takes no context; a registry on loopback
	// answers at once, and ctx bounds the caller's wait.
	done := make(chan error, 1)
	target := fmt.Sprintf("%s/%s/%s:%s", r.Host, repo, meta.Name, meta.Version)
	go func() { _, err := rc.Push(data, target); done <- err }()
	select {
	case <-ctx.Done():
		return "", "", fmt.Errorf("helm push %s: %w", target, ctx.Err())
	case err := <-done:
		if err != nil {
			return "", "", fmt.Errorf("helm push %s: %w", target, err)
		}
	}
	return fmt.Sprintf("oci://%s/%s/%s", r.Host, repo, meta.Name), meta.Version, nil
}
