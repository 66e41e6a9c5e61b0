package exporter_test

import (
	"context"
	"net"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"

	"github.com/eventcheck/eventcheck/exporter"
	"github.com/eventcheck/eventcheck/exporter/config"
)

// Run returns its error when it fails after the sinks started (here: the
// metrics address is taken), instead of waiting forever for sinks whose
// context nobody cancels.
func TestRunReturnsAFailureAfterTheSinksStarted(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	cfg, err := config.Parse([]byte(`
metricsAddress: `+taken.Addr().String()+`
route:
  routes:
    - match:
        - receiver: os
receivers:
  - name: os
    opensearch:
      hosts: ["http://127.0.0.1:1"]
      index: eks-kubernetes-events
`), func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- exporter.Run(context.Background(), cfg, &rest.Config{Host: "http://127.0.0.1:1"}) }()
	select {
	case err := <-done:
		if err == nil || !strings.Contains(err.Error(), taken.Addr().String()) {
			t.Fatalf("Run = %v, want the taken metrics address named", err)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("Run did not return within 30 s after failing to serve metrics")
	}
}
