package helm

import (
	"context"
	"strings"
	"testing"
	"time"

	chartv2 "helm.sh/helm/v4/pkg/chart/v2"

	"github.com/eventcheck/eventcheck/internal/chartregistry"
)

// The fixture chart, packaged and pushed to an OCI registry on loopback,
// is fetched back by its oci:// reference: at the pinned version, and at
// the newest when unpinned, as the page installs it; a version the
// registry lacks is an error naming the chart.
func TestChartFromALoopbackOCIRegistry(t *testing.T) {
	t.Setenv("HELM_CACHE_HOME", t.TempDir()) // nothing from an earlier run
	t.Setenv("HELM_CONFIG_HOME", t.TempDir())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	reg, err := chartregistry.Serve()
	if err != nil {
		t.Fatal(err)
	}
	defer reg.Close(ctx)
	ref, version, err := reg.Push(ctx, fixtureChart, "charts")
	if err != nil {
		t.Fatal(err)
	}
	if want := "oci://" + reg.Host + "/charts/kubernetes-event-exporter"; ref != want || version != "3.6.4" {
		t.Fatalf("pushed %s %s, want %s 3.6.4", ref, version, want)
	}
	if !PlainHTTP(ref) {
		t.Fatalf("%s is on loopback: want plain HTTP", ref)
	}
	for _, pin := range []string{version, ""} {
		r := &Release{Chart: ref, Version: pin, Name: "events-to-opensearch", Namespace: DefaultNamespace}
		ch, err := r.Load()
		if err != nil {
			t.Fatalf("version %q: %v", pin, err)
		}
		c := ch.(*chartv2.Chart)
		if c.Metadata.Name != "kubernetes-event-exporter" || r.installed != "3.6.4" || len(c.Dependencies()) != 1 || c.Dependencies()[0].Name() != "common" {
			t.Fatalf("version %q: fetched %s %s with %d dependencies", pin, c.Metadata.Name, r.installed, len(c.Dependencies()))
		}
	}
	_, err = (&Release{Chart: ref, Version: "9.9.9", Name: "x", Namespace: DefaultNamespace}).Load()
	if err == nil || !strings.Contains(err.Error(), ref) {
		t.Fatalf("a version the registry lacks: %v", err)
	}
}

// Plain HTTP only on this machine's loopback; TLS everywhere else.
func TestPlainHTTPOnlyOnLoopback(t *testing.T) {
	for ref, want := range map[string]bool{
		"oci://127.0.0.1:5000/charts/x": true, "oci://localhost:5000/charts/x": true, "oci://[::1]:5000/charts/x": true,
		"oci://registry-1.docker.io/bitnamicharts/kubernetes-event-exporter": false, "oci://10.0.0.1:5000/x": false,
		"oci://127.0.0.1.example/x": false, "https://127.0.0.1/charts/x": false, "./chart": false,
	} {
		if got := PlainHTTP(ref); got != want {
			t.Errorf("PlainHTTP(%s) = %v, want %v", ref, got, want)
		}
	}
}

// A local chart is refused when it is not the version pinned: Helm would
// ignore the pin.
func TestALocalChartMustBeThePinnedVersion(t *testing.T) {
	_, err := (&Release{Chart: fixtureChart, Version: "3.6.3", Name: "x", Namespace: DefaultNamespace}).Load()
	if err == nil || !strings.Contains(err.Error(), "is version 3.6.4, not 3.6.3") {
		t.Fatalf("err %v", err)
	}
}

func TestAirGappedSet(t *testing.T) {
	for ref, want := range map[string]string{
		"eventcheck.local/events-exporter:dev": "image.registry=eventcheck.local image.repository=events-exporter image.tag=dev",
		"127.0.0.1:5000/team/exporter:1.2":     "image.registry=127.0.0.1:5000 image.repository=team/exporter image.tag=1.2",
		"bitnami/kubernetes-event-exporter":    "image.registry= image.repository=bitnami/kubernetes-event-exporter image.tag=latest",
	} {
		got := AirGappedSet(ref)
		if strings.Join(got[:3], " ") != want || got[3] != "global.security.allowInsecureImages=true" {
			t.Errorf("%s: %v", ref, got)
		}
	}
}
