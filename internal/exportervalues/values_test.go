package exportervalues

import (
	"strings"
	"testing"

	"github.com/eventcheck/eventcheck/internal/opensearch"
)

const workshop = `config:
  logLevel: warn
  maxEventAgeSeconds: 3600
  route:
    routes:
      - match:
          - receiver: opensearch-receiver
  receivers:
    - name: "opensearch-receiver"
      opensearch:
        index: eks-kubernetes-events
        indexFormat: "eks-kubernetes-events-{2006-01-02}"
        useEventID: true
        deDot: true
        username: aaa
        password: bbb
        hosts:
          - ccc
    - name: unused
      opensearch: {index: nowhere, hosts: ["https://other.example:443"]}
image:
  repository: bitnamilegacy/kubernetes-event-exporter
`

func TestSetOverridesKeepTheFileAndItsLines(t *testing.T) {
	v, err := Parse("values.yaml", []byte(workshop), []string{
		"config.receivers[0].opensearch.hosts[0]=https://search.example:443",
		"config.receivers[0].opensearch.username=admin,config.kubeQPS=100",
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := v.Config(func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	os := cfg.Receivers[0].OpenSearch
	if os.Hosts[0] != "https://search.example:443" || os.Username != "admin" || os.Password != "bbb" || cfg.KubeQPS != 100 || cfg.MaxEventAgeSeconds != 3600 {
		t.Fatalf("config %+v / %+v", cfg, os)
	}
	// A problem after --set still points at the file's line.
	bad, _ := Parse("values.yaml", []byte(workshop), []string{"config.receivers[0].opensearch.indexFormat=x-{nope"})
	if _, err := bad.Config(nil); err == nil || !strings.Contains(err.Error(), "line 12") && !strings.Contains(err.Error(), "12:") {
		t.Fatalf("error %v: want the line of indexFormat (12)", err)
	}
}

func TestForEndpointReplacesOnlyTheEndpoint(t *testing.T) {
	v, err := Parse("values.yaml", []byte(workshop), nil)
	if err != nil {
		t.Fatal(err)
	}
	ep := Endpoint{Endpoint: opensearch.Endpoint{URL: "http://127.0.0.1:9200", Password: "pw"}, PasswordFile: "/secret/password"}
	ep.TLS.InsecureSkipVerify = false
	out, err := v.ForEndpoint(ep)
	if err != nil {
		t.Fatal(err)
	}
	rendered, err := out.ExporterConfig()
	if err != nil {
		t.Fatal(err)
	}
	r := string(rendered)
	for _, want := range []string{"http://127.0.0.1:9200", "passwordFile: /secret/password", "deDot: true", "indexFormat: \"eks-kubernetes-events-{2006-01-02}\"", "maxEventAgeSeconds: 3600", "logLevel: warn"} {
		if !strings.Contains(r, want) {
			t.Errorf("rendered config lacks %q:\n%s", want, r)
		}
	}
	for _, gone := range []string{"ccc", "aaa", "bbb", "pw", "image:"} {
		if strings.Contains(r, gone) {
			t.Errorf("rendered config still has %q:\n%s", gone, r)
		}
	}
	// The original is untouched.
	if orig, _ := v.ExporterConfig(); !strings.Contains(string(orig), "ccc") {
		t.Fatal("ForEndpoint changed the values it was given")
	}
	helm, _ := out.HelmValues()
	if !strings.Contains(string(helm), "image:") || !strings.Contains(string(helm), "http://127.0.0.1:9200") {
		t.Errorf("Helm values:\n%s", helm)
	}
}

func TestIndexAndKeysFollowTheRoutedReceivers(t *testing.T) {
	v, err := Parse("values.yaml", []byte(workshop), nil)
	if err != nil {
		t.Fatal(err)
	}
	if idx, err := v.Index(); err != nil || idx != "eks-kubernetes-events-*" {
		t.Fatalf("index %q (%v): want the routed receiver's indexFormat as a pattern", idx, err)
	}
	if !v.KeyedByUID(false) {
		t.Fatal("useEventID: true is keyed by uid")
	}
	noID, _ := Parse("values.yaml", []byte(strings.Replace(workshop, "        useEventID: true\n", "", 1)), nil)
	if noID.KeyedByUID(false) || !noID.KeyedByUID(true) {
		t.Fatal("an unsaid useEventID takes the exporter's default")
	}
	bare, _ := Parse("config.yaml", []byte("route: {routes: [{match: [{receiver: x}]}]}\nreceivers: [{name: x, opensearch: {index: k8s-events}}]\n"), nil)
	if idx, _ := bare.Index(); idx != "k8s-events" || bare.Helm {
		t.Fatalf("bare config: index %q helm %t", idx, bare.Helm)
	}
	dropped, _ := Parse("config.yaml", []byte("receivers: [{name: x, opensearch: {index: k8s-events}}]\n"), nil)
	if _, err := dropped.Index(); err == nil || !strings.Contains(err.Error(), "no route") {
		t.Fatalf("unrouted: %v", err)
	}
}
