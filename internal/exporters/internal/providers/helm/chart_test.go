package helm

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/chart/common"
	"helm.sh/helm/v4/pkg/chart/common/util"
	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	chartutil "helm.sh/helm/v4/pkg/chart/v2/util"
	"helm.sh/helm/v4/pkg/engine"
	"helm.sh/helm/v4/pkg/strvals"

	"github.com/eventcheck/eventcheck/exporter/config"
	"github.com/eventcheck/eventcheck/internal/exportervalues"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// fixtureChart is the chart laid out as the workshop's exporter chart.
const fixtureChart = "../../../../../fixtures/charts/kubernetes-event-exporter"

// render renders the fixture chart as `helm template` would, with --set
// lines, and returns its objects by kind.
func render(t *testing.T, set ...string) (map[string]map[string]any, error) {
	t.Helper()
	vals := map[string]any{}
	for _, s := range set {
		if err := strvals.ParseInto(s, vals); err != nil {
			t.Fatal(err)
		}
	}
	return renderValues(t, vals)
}

func renderValues(t *testing.T, vals map[string]any) (map[string]map[string]any, error) {
	t.Helper()
	ch, err := loader.Load(fixtureChart)
	if err != nil {
		t.Fatal(err)
	}
	c := ch.(*chartv2.Chart)
	if err := chartutil.ProcessDependencies(c, vals); err != nil {
		t.Fatal(err)
	}
	rv, err := util.ToRenderValues(c, vals, common.ReleaseOptions{Name: "events-to-opensearch", Namespace: "opensearch-exporter", IsInstall: true}, common.DefaultCapabilities)
	if err != nil {
		t.Fatal(err)
	}
	files, err := engine.Render(c, rv)
	if err != nil {
		return nil, err
	}
	objs := map[string]map[string]any{}
	for name, text := range files {
		if !strings.HasSuffix(name, ".yaml") {
			continue
		}
		dec := yaml.NewDecoder(strings.NewReader(text))
		for {
			var o map[string]any
			if dec.Decode(&o) != nil {
				break
			}
			if o != nil {
				objs[o["kind"].(string)] = o
			}
		}
	}
	return objs, nil
}

func get(o any, path ...any) any {
	for _, p := range path {
		switch k := p.(type) {
		case string:
			m, _ := o.(map[string]any)
			o = m[k]
		case int:
			l, _ := o.([]any)
			if k >= len(l) {
				return nil
			}
			o = l[k]
		}
	}
	return o
}

// The image overrides, without the guard's allowance.
var ourImage = AirGappedSet("eventcheck.local/events-exporter:dev")[:3]

// As the workshop's chart: config in the ConfigMap's config.yaml, read
// with -conf=/data/config.yaml from the mounted ConfigMap, a read-only
// root filesystem as user 1001, pods named after the release.
func TestChartRendersTheConfigAndTheContainerAsTheWorkshopsDoes(t *testing.T) {
	objs, err := render(t, "config.receivers[0].opensearch.hosts[0]=http://opensearch:9200", "config.maxEventAgeSeconds=3600")
	if err != nil {
		t.Fatal(err)
	}
	var cfg map[string]any
	if err := yaml.Unmarshal([]byte(get(objs["ConfigMap"], "data", "config.yaml").(string)), &cfg); err != nil {
		t.Fatalf("config.yaml: %v", err)
	}
	if get(cfg, "maxEventAgeSeconds") != 3600 || get(cfg, "receivers", 0, "opensearch", "hosts", 0) != "http://opensearch:9200" {
		t.Fatalf("config.yaml does not hold the config values: %v", cfg)
	}
	d := objs["Deployment"]
	if name := get(d, "metadata", "name"); name != "events-to-opensearch-kubernetes-event-exporter" {
		t.Errorf("deployment %v: want the release name then the chart's", name)
	}
	c := get(d, "spec", "template", "spec", "containers", 0)
	if args := get(c, "args"); len(args.([]any)) != 1 || get(args, 0) != "-conf=/data/config.yaml" {
		t.Errorf("args %v, want [-conf=/data/config.yaml]", args)
	}
	if get(c, "image") != "docker.io/bitnami/kubernetes-event-exporter:1.7.0-debian-12-r0" {
		t.Errorf("image %v", get(c, "image"))
	}
	if get(c, "securityContext", "readOnlyRootFilesystem") != true || get(c, "securityContext", "runAsUser") != 1001 {
		t.Errorf("security context %v", get(c, "securityContext"))
	}
	if get(c, "volumeMounts", 0, "mountPath") != "/data" || get(d, "spec", "template", "spec", "volumes", 0, "configMap", "name") != get(objs["ConfigMap"], "metadata", "name") {
		t.Errorf("the ConfigMap is not mounted at /data: %v", get(d, "spec", "template", "spec"))
	}
	if objs["ClusterRole"] == nil || objs["ServiceAccount"] == nil {
		t.Errorf("no RBAC rendered: %v", objs)
	}
}

// The guard: another image than the chart's fails the install, unless
// global.security.allowInsecureImages is true; another tag of the chart's
// image, and the mirror the workshop's values name, pass.
func TestChartRefusesAnotherImageUnlessAllowed(t *testing.T) {
	_, err := render(t, ourImage...)
	if err == nil || !strings.Contains(err.Error(), "image eventcheck.local/events-exporter:dev is not an image this chart was made for") || !strings.Contains(err.Error(), "global.security.allowInsecureImages=true") {
		t.Fatalf("our image without the allowance: %v", err)
	}
	objs, err := render(t, append(ourImage, "global.security.allowInsecureImages=true")...)
	if err != nil {
		t.Fatal(err)
	}
	if img := get(objs["Deployment"], "spec", "template", "spec", "containers", 0, "image"); img != "eventcheck.local/events-exporter:dev" {
		t.Fatalf("image %v", img)
	}
	for _, set := range [][]string{{"image.tag=1.7.1"}, {"image.repository=bitnamilegacy/kubernetes-event-exporter"}} {
		if _, err := render(t, set...); err != nil {
			t.Errorf("%v: %v", set, err)
		}
	}
	if _, err := render(t, "global.imageRegistry=registry.example"); err == nil {
		t.Errorf("global.imageRegistry relocates the image: the guard must see it")
	}
}

// The NetworkPolicy is on by default and lets the exporter reach anything
// (OpenSearch outside the cluster); with external egress off, DNS and the
// API server only.
func TestChartNetworkPolicy(t *testing.T) {
	objs, err := render(t)
	if err != nil {
		t.Fatal(err)
	}
	np := objs["NetworkPolicy"]
	if np == nil {
		t.Fatal("no NetworkPolicy by default")
	}
	if egress := get(np, "spec", "egress").([]any); len(egress) != 1 || len(egress[0].(map[string]any)) != 0 {
		t.Errorf("egress %v, want one rule allowing all", egress)
	}
	objs, err = render(t, "networkPolicy.allowExternalEgress=false")
	if err != nil {
		t.Fatal(err)
	}
	if egress := get(objs["NetworkPolicy"], "spec", "egress").([]any); len(egress) != 2 || get(egress, 0, "ports", 0, "port") != 53 {
		t.Errorf("egress %v, want DNS and the API server", egress)
	}
	if objs, _ = render(t, "networkPolicy.enabled=false"); objs["NetworkPolicy"] != nil {
		t.Errorf("networkPolicy.enabled=false still renders one")
	}
}

// The workshop module's values with the page's --set lines and the
// air-gapped image overrides, as the helm backend passes them: the chart
// installs our image, and our exporter reads the config.yaml it renders.
func TestChartRunsOurExporterWithTheWorkshopsValues(t *testing.T) {
	shipped, err := os.ReadFile("../../../../../fixtures/workshop-repo/manifests/modules/observability/opensearch/config/events-exporter-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Ours refuses the misspelt key the upstream exporter ignores.
	fixed := strings.Replace(string(shipped), "maxEventsAgeSeconds:", "maxEventAgeSeconds:", 1)
	set := append([]string{"config.receivers[0].opensearch.username=admin", "config.receivers[0].opensearch.password=s3cret",
		"config.receivers[0].opensearch.hosts[0]=https://search.example"}, AirGappedSet("eventcheck.local/events-exporter:dev")...)
	v, err := exportervalues.Parse("events-exporter-values.yaml", []byte(fixed), set)
	if err != nil {
		t.Fatal(err)
	}
	vals, err := Values(v, opensearch.Endpoint{URL: "http://opensearch:9200"})
	if err != nil {
		t.Fatal(err)
	}
	objs, err := renderValues(t, vals)
	if err != nil {
		t.Fatal(err)
	}
	c := get(objs["Deployment"], "spec", "template", "spec", "containers", 0)
	if get(c, "image") != "eventcheck.local/events-exporter:dev" || get(c, "imagePullPolicy") != "IfNotPresent" {
		t.Fatalf("container %v", c)
	}
	file := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(file, []byte(get(objs["ConfigMap"], "data", "config.yaml").(string)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, err := config.Load(file)
	if err != nil {
		t.Fatalf("our exporter refuses the chart's config.yaml: %v", err)
	}
	if o := cfg.Receivers[0].OpenSearch; o.Hosts[0] != "http://opensearch:9200" || o.Index != "eks-kubernetes-events" || !o.DeDot || o.Password != "" {
		t.Fatalf("receiver %+v", o)
	}
}
