// Package builtin is our events exporter under test: in this process on
// the local cluster (whose nodes run no pods), authenticated as its
// ServiceAccount so its RBAC is exercised; deployed from exporter/deploy
// elsewhere (on kind with an image built here). Either way it runs the
// content's configuration with only the OpenSearch endpoint replaced, and
// our index template covers the index that configuration writes.
package builtin

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/eventcheck/eventcheck/exporter"
	"github.com/eventcheck/eventcheck/exporter/deploy"
	"github.com/eventcheck/eventcheck/exporter/image"
	"github.com/eventcheck/eventcheck/exporter/metrics"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/exporterenv"
	"github.com/eventcheck/eventcheck/internal/exporters/internal/providers"
	"github.com/eventcheck/eventcheck/internal/exportervalues"
	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/manifest"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// passwordFile is where the deployed exporter reads the OpenSearch
// password (the Secret of exporter/deploy, mounted).
const passwordFile = "/etc/opensearch-credentials/password"

type provider struct {
	o    providers.Options
	stop func(context.Context) error
}

// New returns the builtin backend.
func New(o providers.Options) providers.Provider { return &provider{o: o} }

// DefaultValues is the configuration exporter/deploy ships.
func DefaultValues() (*exportervalues.Values, error) {
	data, err := fs.ReadFile(deploy.FS, "config.yaml")
	if err != nil {
		return nil, err
	}
	return exportervalues.Parse("exporter/deploy/config.yaml", data, nil)
}

func (p *provider) Start(ctx context.Context, t providers.Target) (*providers.Running, error) {
	p.o.Defaults()
	values, index, err := p.o.Content(DefaultValues)
	if err != nil {
		return nil, err
	}
	r := &providers.Running{Index: index, KeyedByUID: values.KeyedByUID(true)}
	// Our pipeline is the exporter and the template that maps what it
	// writes; another exporter (process, helm, existing) gets neither. A
	// user who may not put templates (the workshop's, on a domain with
	// fine-grained access control) still runs the story, on the index as
	// OpenSearch maps it, and the report says so.
	if err := eventindex.ApplyTemplate(ctx, t.Client, index); errors.Is(err, eventindex.ErrTemplateForbidden) {
		note := fmt.Sprintf("index template %s not applied: user %q may not put index templates (grant %s, or have an admin apply it); %s",
			eventindex.TemplateName, t.Endpoint.Username, eventindex.TemplatePermission, eventindex.WithoutTemplate)
		p.o.Log.Warn("going on without our index template", "endpoint", t.Endpoint, "why", note)
		r.Notes = append(r.Notes, note)
	} else if err != nil {
		return nil, err
	}
	if t.ClusterKind == "local" {
		err = p.runHere(ctx, t, values, r)
	} else {
		err = p.deploy(ctx, t, values, r)
	}
	return r, err
}

func (p *provider) Stop(ctx context.Context) error {
	if p.stop == nil {
		return nil
	}
	err := p.stop(ctx)
	p.stop = nil
	return err
}

// runHere runs the exporter in this process as its ServiceAccount.
func (p *provider) runHere(ctx context.Context, t providers.Target, values *exportervalues.Values, r *providers.Running) error {
	if err := exporterenv.ApplyRBAC(ctx, t.REST); err != nil {
		return fmt.Errorf("exporter RBAC: %w", err)
	}
	sa, err := exporterenv.ServiceAccountConfig(ctx, t.REST, 24*time.Hour)
	if err != nil {
		return err
	}
	ep := t.Endpoint
	password := ep.Password
	ep.Password = "" // set on the parsed config only: never rendered into text
	forHere, err := values.ForEndpoint(exportervalues.Endpoint{Endpoint: ep})
	if err != nil {
		return err
	}
	cfg, err := forHere.Config(os.LookupEnv)
	if err != nil {
		return err
	}
	for _, rc := range cfg.Receivers {
		if rc.OpenSearch != nil {
			rc.OpenSearch.Password = password
		}
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	r.Log, r.Metrics, r.Probes = &logtail.Buffer{}, metrics.New(), "http://"+l.Addr().String()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() {
		done <- exporter.Run(runCtx, cfg, sa, exporter.WithListener(l), exporter.WithMetrics(r.Metrics),
			exporter.WithLogger(slog.New(slog.NewTextHandler(r.Log, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	}()
	p.stop = func(context.Context) error { cancel(); <-done; return nil }
	r.Rejections = func(context.Context) (int64, []string, error) {
		n, reasons := rejectionsIn(string(r.Log.Bytes()))
		var m dto.Metric
		if err := r.Metrics.DocumentsFailed.Write(&m); err != nil {
			return n, reasons, err
		}
		return int64(m.GetCounter().GetValue()), reasons, nil
	}
	return p.waitReady(ctx, r, done)
}

// waitReady waits for /readyz, which is 200 once the watch has synced and
// every receiver reached OpenSearch.
func (p *provider) waitReady(ctx context.Context, r *providers.Running, died <-chan error) error {
	var last string
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, p.o.ReadyTimeout, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-died:
			return false, fmt.Errorf("the exporter stopped: %v; its log:\n%s", err, r.Log.Tail(20))
		default:
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, r.Probes+"/readyz", nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		body := make([]byte, 2048)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		last = strings.TrimSpace(string(body[:n]))
		return resp.StatusCode == http.StatusOK, nil
	})
	if err != nil && !wait.Interrupted(err) {
		return err
	}
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("waiting for the exporter's /readyz: %w", ctx.Err()) // interrupted, not slow
	}
	if err != nil {
		return fmt.Errorf("the exporter was not ready within %s: /readyz says %q; its log:\n%s", p.o.ReadyTimeout, last, r.Log.Tail(20))
	}
	p.o.Log.Info("exporter ready", "probes", r.Probes)
	return nil
}

// deploy runs the exporter in the cluster from exporter/deploy: on kind
// with an image built here and loaded into the nodes, elsewhere with the
// image given.
func (p *provider) deploy(ctx context.Context, t providers.Target, values *exportervalues.Values, r *providers.Running) error {
	img := p.o.Image
	if t.ClusterKind == "kind" {
		img = image.DefaultTag
		archive := filepath.Join(os.TempDir(), fmt.Sprintf("events-exporter-%d.tar", os.Getpid()))
		defer os.Remove(archive)
		// From the source tree when we run in one, else from the proxy.
		src, _ := moduleRoot()
		if err := image.Build(ctx, src, runtime.GOARCH, img, archive); err != nil {
			return err
		}
		if err := t.LoadImageArchive(ctx, archive); err != nil {
			return err
		}
	}
	if img == "" {
		return fmt.Errorf("the exporter image is needed on a %s cluster: pass --exporter-image (push exporter/image's build to a registry the cluster pulls from)", t.ClusterKind)
	}
	objs, err := objects(img, values, t.PodEndpoint)
	if err != nil {
		return err
	}
	a, err := manifest.NewApplier(t.REST)
	if err != nil {
		return err
	}
	if err := a.Apply(ctx, objs); err != nil {
		return fmt.Errorf("deploying the exporter: %w", err)
	}
	p.stop = func(ctx context.Context) error { return a.Delete(ctx, objs, 2*time.Minute) }
	r.PodLogs = podLogs(t)
	r.Rejections = func(ctx context.Context) (int64, []string, error) {
		log, err := r.PodLogs(ctx)
		n, reasons := rejectionsIn(log)
		return n, reasons, err
	}
	return waitDeployment(ctx, t, exporterenv.Namespace, "events-exporter", p.o.ReadyTimeout)
}

// objects renders exporter/deploy for an image and an endpoint: the
// content's config with the endpoint replaced goes into the ConfigMap, the
// password into the Secret (never the ConfigMap), the image into the
// Deployment.
func objects(img string, values *exportervalues.Values, ep opensearch.Endpoint) ([]*unstructured.Unstructured, error) {
	objs, err := exporterenv.Render()
	if err != nil {
		return nil, err
	}
	password := ep.Password
	forPods, err := values.ForEndpoint(exportervalues.Endpoint{Endpoint: ep, PasswordFile: passwordFile})
	if err != nil {
		return nil, err
	}
	// Refused here, not in a crash-looping pod.
	if _, err := forPods.Config(func(string) (string, bool) { return "set", true }); err != nil {
		return nil, err
	}
	cfgYAML, err := forPods.ExporterConfig()
	if err != nil {
		return nil, err
	}
	for _, o := range objs {
		switch {
		case o.GetKind() == "ConfigMap" && strings.HasPrefix(o.GetName(), "events-exporter-config"):
			if err := unstructured.SetNestedField(o.Object, string(cfgYAML), "data", "config.yaml"); err != nil {
				return nil, err
			}
		case o.GetKind() == "Secret" && o.GetName() == "opensearch-credentials":
			if err := unstructured.SetNestedField(o.Object, password, "stringData", "password"); err != nil {
				return nil, err
			}
		case o.GetKind() == "Deployment":
			containers, _, _ := unstructured.NestedSlice(o.Object, "spec", "template", "spec", "containers")
			for _, c := range containers {
				c.(map[string]any)["image"] = img
			}
			if err := unstructured.SetNestedSlice(o.Object, containers, "spec", "template", "spec", "containers"); err != nil {
				return nil, err
			}
		}
	}
	return objs, nil
}

// waitDeployment waits for the exporter Deployment's readiness, which is
// its /readyz; on timeout it says what the pods are waiting for.
func waitDeployment(ctx context.Context, t providers.Target, ns, name string, timeout time.Duration) error {
	err := wait.PollUntilContextTimeout(ctx, time.Second, timeout, true, func(ctx context.Context) (bool, error) {
		d, err := t.Kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		return err == nil && d.Status.ReadyReplicas >= 1 && d.Status.UpdatedReplicas >= 1, nil
	})
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return fmt.Errorf("waiting for the exporter Deployment %s/%s: %w", ns, name, ctx.Err()) // interrupted, not slow
	}
	return fmt.Errorf("the exporter Deployment %s/%s was not ready within %s (its readiness probe is /readyz): %s", ns, name, timeout, providers.PodStates(ctx, t.Kube, ns, ""))
}

// moduleRoot finds the eventcheck source tree (to build the exporter image).
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		data, err := os.ReadFile(filepath.Join(dir, "go.mod"))
		if err == nil && bytes.HasPrefix(data, []byte("module github.com/eventcheck/eventcheck\n")) {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("building the exporter image needs the eventcheck source tree; run from it, or use a kubeconfig cluster with --exporter-image")
		}
		dir = parent
	}
}
