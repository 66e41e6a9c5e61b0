package harness

import (
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/eventcheck/eventcheck/exporter/config"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// The config written into the in-cluster ConfigMap must read back through
// the exporter's strict decoder, and carry no password.
func TestExporterConfigRoundTripsThroughTheStrictDecoder(t *testing.T) {
	ep := opensearch.Endpoint{URL: "https://search.example:443", Username: "admin", Password: "pa$$word"}
	cfg, err := exporterConfig(ep)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Receivers[0].OpenSearch.Password != "pa$$word" {
		t.Fatal("password not passed to the in-process exporter")
	}
	cfg.Receivers[0].OpenSearch.Password = ""
	cfg.Receivers[0].OpenSearch.PasswordFile = "/etc/opensearch-credentials/password"
	data, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(data), "pa$$word") {
		t.Fatal("password in the ConfigMap")
	}
	back, err := config.Parse(data, func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatalf("config does not read back: %v\n%s", err, data)
	}
	o := back.Receivers[0].OpenSearch
	if o.Hosts[0] != ep.URL || o.Username != "admin" || o.PasswordFile == "" || o.Index != "eks-kubernetes-events" {
		t.Fatalf("read back %+v", o)
	}
}
