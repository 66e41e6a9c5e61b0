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

// A --set that strvals would accept and apply nothing for is an error
// naming the key; no message carries the value.
func TestMalformedSetIsAnErrorNamingTheKey(t *testing.T) {
	for set, want := range map[string]string{
		"receivers[0.opensearch.password=s3cret": `key "receivers[0.opensearch.password" opens an index`,
		"=s3cret":                                "empty key",
		"config.receivers[0].opensearch.index=x,=s3cret": "empty key",
		".config.x=s3cret": `key ".config.x" is malformed`,
		"config..x=s3cret": "config..x",
		"s3cret":           "not key=value pairs",
		"config.receivers[0].opensearch.password=a\\,b\\,s3cret": "",
		"config.receivers[0].opensearch.password=a,s3cret":       "not key=value pairs",
	} {
		_, err := Parse("values.yaml", []byte(workshop), []string{set})
		if want == "" {
			if err != nil {
				t.Errorf("%q: %v", set, err)
			}
			continue
		}
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%q: error %v, want %q without the value", set, err, want)
		}
	}
	// Lists in braces keep their commas.
	if _, err := Parse("values.yaml", []byte(workshop), []string{"config.receivers[0].opensearch.hosts={https://a:443,https://b:443}"}); err != nil {
		t.Errorf("a list value: %v", err)
	}
}

// A bare exporter config has no config: block: --set config.… is refused
// rather than replacing the whole file with what it sets.
func TestSetConfigOnABareConfigIsRefused(t *testing.T) {
	bare := "receivers:\n  - name: os\n    opensearch: {hosts: [\"https://a:443\"], index: i}\nroute: {routes: [{match: [{receiver: os}]}]}\n"
	_, err := Parse("config.yaml", []byte(bare), []string{"config.receivers[0].opensearch.index=x"})
	if err == nil || !strings.Contains(err.Error(), "no config: block") || !strings.Contains(err.Error(), "drop the config. prefix") {
		t.Fatalf("error %v", err)
	}
	v, err := Parse("config.yaml", []byte(bare), []string{"receivers[0].opensearch.index=x"})
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := v.Config(nil); err != nil || cfg.Receivers[0].OpenSearch.Index != "x" {
		t.Fatalf("%+v, %v", cfg, err)
	}
}

// A second document would be ignored: it is refused.
func TestSecondDocumentIsRefused(t *testing.T) {
	if _, err := Parse("values.yaml", []byte(workshop+"---\nconfig: {}\n"), nil); err == nil || !strings.Contains(err.Error(), "second YAML document") {
		t.Fatalf("error %v", err)
	}
	if _, err := Parse("values.yaml", []byte("---\n"+workshop), nil); err != nil {
		t.Fatalf("a leading ---: %v", err)
	}
}

func TestLoadIsBounded(t *testing.T) {
	if _, err := Load("/dev/zero", nil); err == nil || !strings.Contains(err.Error(), "/dev/zero is larger than 4 MiB") {
		t.Fatalf("error %v", err)
	}
}
