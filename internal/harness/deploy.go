package harness

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/eventcheck/eventcheck/exporter/image"
	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/exporterenv"
	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/manifest"
	"github.com/eventcheck/eventcheck/internal/opensearch"
	"github.com/eventcheck/eventcheck/internal/opensearch/providers/container"
)

var opensearchNotSupported = opensearch.ErrNotSupported

// deployExporter runs the exporter in the cluster from exporter/deploy:
// on kind with an image built here and loaded into the nodes, elsewhere
// with the image given.
func (e *Env) deployExporter(ctx context.Context, o Options, clusterName string) error {
	img := o.ExporterImage
	hosts := e.Instance.Endpoint.URL
	if clusterName == cluster.Kind {
		img = image.DefaultTag
		archive := filepath.Join(os.TempDir(), fmt.Sprintf("events-exporter-%d.tar", os.Getpid()))
		defer os.Remove(archive)
		// From the source tree when we run in one, else from the proxy.
		src, _ := moduleRoot()
		if err := image.Build(ctx, src, runtime.GOARCH, img, archive); err != nil {
			return err
		}
		if err := e.Cluster.LoadImageArchive(ctx, archive); err != nil {
			return err
		}
	}
	if clusterName == cluster.Kind && e.OpenSearchKind == opensearch.Container {
		// Pods reach the container on kind's network by its alias.
		hosts = "http://" + container.NetworkAlias + ":9200"
	}
	if img == "" {
		return fmt.Errorf("the exporter image is needed on a %s cluster: pass --exporter-image (push exporter/image's build to a registry the cluster pulls from)", clusterName)
	}
	ep := e.Instance.Endpoint
	ep.URL = hosts
	objs, err := exporterObjects(img, ep)
	if err != nil {
		return err
	}
	a, err := manifest.NewApplier(e.REST)
	if err != nil {
		return err
	}
	if err := a.Apply(ctx, objs); err != nil {
		return fmt.Errorf("deploying the exporter: %w", err)
	}
	e.Exporter = &Exporter{Log: &lockedBuffer{}, podLogs: podLogs(e.Kube), KeyedByUID: true}
	return e.waitDeploymentReady(ctx, exporterenv.Namespace, "events-exporter", o.ExporterReadyTimeout)
}

// exporterObjects renders exporter/deploy for an image and an OpenSearch
// endpoint: the config points at the endpoint, the password goes into the
// Secret (never the ConfigMap), the Deployment runs the image.
func exporterObjects(img string, ep opensearch.Endpoint) ([]*unstructured.Unstructured, error) {
	objs, err := exporterenv.Render()
	if err != nil {
		return nil, err
	}
	cfg, err := exporterConfig(ep)
	if err != nil {
		return nil, err
	}
	if ep.Password != "" {
		cfg.Receivers[0].OpenSearch.Password = ""
		cfg.Receivers[0].OpenSearch.PasswordFile = "/etc/opensearch-credentials/password"
	}
	cfgYAML, err := yaml.Marshal(cfg)
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
			if err := unstructured.SetNestedField(o.Object, ep.Password, "stringData", "password"); err != nil {
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

// waitDeploymentReady waits for the exporter Deployment's readiness, which
// is its /readyz; on timeout it says what the pods are waiting for.
func (e *Env) waitDeploymentReady(ctx context.Context, ns, name string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		d, err := e.Kube.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil && d.Status.ReadyReplicas >= 1 && d.Status.UpdatedReplicas >= 1 {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
	pods, _ := e.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	return fmt.Errorf("the exporter Deployment %s/%s was not ready within %s (its readiness probe is /readyz): %s", ns, name, timeout, podStates(pods.Items))
}

// podStates summarises why pods are not ready.
func podStates(pods []corev1.Pod) string {
	var b bytes.Buffer
	for _, p := range pods {
		fmt.Fprintf(&b, "pod %s: %s", p.Name, p.Status.Phase)
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil {
				fmt.Fprintf(&b, ", %s waiting: %s %s", c.Name, w.Reason, w.Message)
			}
			if !c.Ready {
				fmt.Fprintf(&b, ", %s not ready", c.Name)
			}
		}
		b.WriteString("; ")
	}
	if b.Len() == 0 {
		return "no pods"
	}
	return b.String()
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
			return "", fmt.Errorf("building the exporter image needs the eventcheck source tree; run from it, or use a kubeconfig cluster with --exporter-image")
		}
		dir = parent
	}
}

// lockedBuffer collects a log safely from several goroutines.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of the log.
func (b *lockedBuffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// Tail returns the last n lines.
func (b *lockedBuffer) Tail(n int) string { return logtail.Lines(string(b.Bytes()), n) }
