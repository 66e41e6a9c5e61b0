package container

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/opensearch/providers"
)

func TestRequestIsASingleInsecureNodeOnKindsNetwork(t *testing.T) {
	o := providers.Options{Network: "kind", ReadyTimeout: time.Minute}
	o.Defaults()
	p, err := New(o)
	if err != nil {
		t.Fatal(err)
	}
	req := Request(p.(*provider).o)
	if req.Image != "opensearchproject/opensearch:"+DefaultVersion || !strings.HasPrefix(DefaultVersion, "2.19.") {
		t.Errorf("image %s", req.Image)
	}
	for k, want := range map[string]string{
		"discovery.type":              "single-node",
		"DISABLE_SECURITY_PLUGIN":     "true",
		"DISABLE_INSTALL_DEMO_CONFIG": "true",
		"OPENSEARCH_JAVA_OPTS":        "-Xms512m -Xmx512m",
	} {
		if req.Env[k] != want {
			t.Errorf("env %s = %q, want %q", k, req.Env[k], want)
		}
	}
	if len(req.Networks) != 1 || req.Networks[0] != "kind" || req.NetworkAliases["kind"][0] != NetworkAlias {
		t.Errorf("networks %v aliases %v: want kind with alias %s", req.Networks, req.NetworkAliases, NetworkAlias)
	}
	if len(req.ExposedPorts) != 1 || req.ExposedPorts[0] != "9200/tcp" {
		t.Errorf("ports %v", req.ExposedPorts)
	}
	if Request(providers.Options{Heap: "1g"}).Networks != nil {
		t.Error("no network requested, but one is set")
	}
}

func TestStartWithoutEngineIsAClearError(t *testing.T) {
	if _, err := engine.Detect(context.Background()); err == nil {
		t.Skip("a container engine is running here; this test covers machines without one")
	}
	p, _ := New(providers.Options{})
	_, err := p.Start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "--opensearch local") {
		t.Fatalf("error = %v", err)
	}
}
