package helm

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/exporters/internal/providers"
	"github.com/eventcheck/eventcheck/internal/exportervalues"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

const workshopValues = `config:
  maxEventAgeSeconds: 3600
  route: {routes: [{match: [{receiver: opensearch-receiver}]}]}
  receivers:
    - name: opensearch-receiver
      opensearch: {index: eks-kubernetes-events, deDot: true, username: aaa, password: bbb, hosts: [ccc]}
image:
  repository: bitnamilegacy/kubernetes-event-exporter
`

func values(t *testing.T) *exportervalues.Values {
	t.Helper()
	v, err := exportervalues.Parse("values.yaml", []byte(workshopValues), []string{"config.receivers[0].opensearch.username=admin"})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// The chart gets the content's values with its --set lines, only the
// endpoint replaced by the one pods reach.
func TestValuesPointTheChartAtTheEnvironment(t *testing.T) {
	vals, err := Values(values(t), opensearch.Endpoint{URL: "http://opensearch:9200", Username: "admin"})
	if err != nil {
		t.Fatal(err)
	}
	recv := vals["config"].(map[string]any)["receivers"].([]any)[0].(map[string]any)["opensearch"].(map[string]any)
	if recv["hosts"].([]any)[0] != "http://opensearch:9200" || recv["username"] != "admin" || recv["password"] != nil || recv["deDot"] != true {
		t.Fatalf("receiver %v", recv)
	}
	if vals["image"].(map[string]any)["repository"] != "bitnamilegacy/kubernetes-event-exporter" {
		t.Fatalf("values other than the endpoint changed: %v", vals)
	}
}

// Its pods could not run on the local cluster: a usage error that says so.
func TestRefusedWhereNoPodsRun(t *testing.T) {
	p := New(providers.Options{Chart: "testdata/events-exporter"}, nil)
	_, err := p.Start(context.Background(), providers.Target{ClusterKind: "local"})
	if !errors.Is(err, providers.ErrUsage) || !strings.Contains(err.Error(), "run no containers") {
		t.Fatalf("err %v", err)
	}
}

// Install and uninstall at the API level on the local cluster: the chart
// renders with the content's values, its objects appear, and uninstall
// removes them (the pods never run there).
func TestInstallAndUninstallTheChart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster; skipped with -short")
	}
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "ec-helm-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c, err := cluster.New(cluster.Local, cluster.WithDir(dir))
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Up(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Down(ctx) })
	cfg, err := c.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	kube := kubernetes.NewForConfigOrDie(cfg)

	vals, err := Values(values(t), opensearch.Endpoint{URL: "http://opensearch.example:9200"})
	if err != nil {
		t.Fatal(err)
	}
	rel := &Release{Kubeconfig: c.Kubeconfig(), Chart: "testdata/events-exporter", Name: "events-to-opensearch", Namespace: DefaultNamespace}
	if err := rel.Install(ctx, vals, 0); err != nil {
		t.Fatal(err)
	}
	cm, err := kube.CoreV1().ConfigMaps(DefaultNamespace).Get(ctx, "events-to-opensearch-config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	config := cm.Data["config.yaml"]
	for _, want := range []string{"http://opensearch.example:9200", "maxEventAgeSeconds: 3600", "index: eks-kubernetes-events", "deDot: true"} {
		if !strings.Contains(config, want) {
			t.Errorf("rendered config lacks %q:\n%s", want, config)
		}
	}
	if strings.Contains(config, "ccc") || strings.Contains(config, "bbb") {
		t.Errorf("placeholders or the password are left:\n%s", config)
	}
	d, err := kube.AppsV1().Deployments(DefaultNamespace).Get(ctx, "events-to-opensearch", metav1.GetOptions{})
	if err != nil || d.Spec.Template.Spec.Containers[0].Image != "bitnamilegacy/kubernetes-event-exporter:1.0" {
		t.Fatalf("deployment %v (%v): want the content's image values", d, err)
	}

	if err := rel.Uninstall(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, err := kube.CoreV1().ConfigMaps(DefaultNamespace).Get(ctx, "events-to-opensearch-config", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	})
	if err != nil {
		t.Fatalf("the release's ConfigMap is still there after uninstall: %v", err)
	}
}
