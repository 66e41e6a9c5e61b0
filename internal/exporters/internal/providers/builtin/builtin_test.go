package builtin

import (
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/eventcheck/eventcheck/exporter/config"
	"github.com/eventcheck/eventcheck/internal/exportervalues"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// What the kind and kubeconfig paths apply, checked without a cluster.
func TestExporterObjectsWireImageConfigAndSecret(t *testing.T) {
	ep := opensearch.Endpoint{URL: "http://opensearch:9200", Username: "admin", Password: "s3cret"}
	values := workshopValues(t)
	objs, err := objects("registry.example/events-exporter:v1", values, ep)
	if err != nil {
		t.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, o := range objs {
		kinds[o.GetKind()] = true
		if o.GetKind() != "Namespace" && o.GetKind() != "ClusterRole" && o.GetKind() != "ClusterRoleBinding" && o.GetNamespace() != "opensearch-exporter" {
			t.Errorf("%s %s in namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
		}
		switch o.GetKind() {
		case "ConfigMap":
			checkConfigMap(t, o, ep)
		case "Secret":
			if pw, _, _ := unstructured.NestedString(o.Object, "stringData", "password"); pw != "s3cret" {
				t.Fatalf("secret password %q", pw)
			}
		case "Deployment":
			checkDeployment(t, o)
		case "ClusterRole":
			checkClusterRoleReadOnly(t, o)
		}
	}
	for _, k := range []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Secret", "ConfigMap", "Deployment", "Service"} {
		if !kinds[k] {
			t.Errorf("no %s rendered", k)
		}
	}
}

// workshopValues are the content's values, as a workshop ships them: they
// are what runs, so the objects are checked against them, not defaults.
func workshopValues(t *testing.T) *exportervalues.Values {
	t.Helper()
	values, err := exportervalues.Parse("values.yaml", []byte(`config:
  maxEventAgeSeconds: 600
  route: {routes: [{match: [{receiver: os}]}]}
  receivers:
    - name: os
      opensearch: {hosts: [ccc], username: aaa, password: bbb, index: k8s-events, deDot: true}
image: {repository: somewhere/else}
`), nil)
	if err != nil {
		t.Fatal(err)
	}
	return values
}

// checkConfigMap checks the exporter's config decodes, points at the
// endpoint, and keeps the content's settings; the password reaches the
// exporter only through the Secret's file, never in the ConfigMap.
func checkConfigMap(t *testing.T, o *unstructured.Unstructured, ep opensearch.Endpoint) {
	t.Helper()
	cfgYAML, _, _ := unstructured.NestedString(o.Object, "data", "config.yaml")
	if strings.Contains(cfgYAML, "s3cret") || strings.Contains(cfgYAML, "bbb") {
		t.Fatal("password in the ConfigMap")
	}
	cfg, err := config.Parse([]byte(cfgYAML), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("ConfigMap config does not decode: %v", err)
	}
	if o := cfg.Receivers[0].OpenSearch; o.Hosts[0] != ep.URL || o.PasswordFile != "/etc/opensearch-credentials/password" ||
		o.Username != "admin" || o.Index != "k8s-events" || !o.DeDot || cfg.MaxEventAgeSeconds != 600 {
		t.Fatalf("config %+v / %+v", cfg, o)
	}
}

// checkDeployment checks the exporter runs the image it was given (not the
// values' repository), hardened, with probes and resources, under its own
// service account.
func checkDeployment(t *testing.T, o *unstructured.Unstructured) {
	t.Helper()
	var d appsv1.Deployment
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &d); err != nil {
		t.Fatal(err)
	}
	c := d.Spec.Template.Spec.Containers[0]
	sc := c.SecurityContext
	pod := d.Spec.Template.Spec.SecurityContext
	if c.Image != "registry.example/events-exporter:v1" || c.ImagePullPolicy != "IfNotPresent" {
		t.Errorf("image %s pull %s", c.Image, c.ImagePullPolicy)
	}
	if pod.RunAsNonRoot == nil || !*pod.RunAsNonRoot || sc.ReadOnlyRootFilesystem == nil || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation {
		t.Error("the exporter must run as non-root with a read-only root filesystem")
	}
	if c.ReadinessProbe.HTTPGet.Path != "/readyz" || c.LivenessProbe.HTTPGet.Path != "/healthz" || c.Resources.Requests.Memory().IsZero() {
		t.Error("probes on /readyz and /healthz and resources are required")
	}
	if d.Spec.Template.Spec.ServiceAccountName != "events-exporter" {
		t.Error("wrong service account")
	}
}

// checkClusterRoleReadOnly checks every verb the cluster role grants only
// reads: the exporter watches events and must not be able to change them.
func checkClusterRoleReadOnly(t *testing.T, o *unstructured.Unstructured) {
	t.Helper()
	var r rbacv1.ClusterRole
	_ = runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &r)
	for _, rule := range r.Rules {
		for _, v := range rule.Verbs {
			if v != "get" && v != "list" && v != "watch" {
				t.Errorf("cluster role grants %s on %v: least privilege is read-only", v, rule.Resources)
			}
		}
	}
}
