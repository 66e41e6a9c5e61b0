package harness

import (
	"context"
	"log/slog"
	"testing"

	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// Pods reach an OpenSearch on the container network it joined for them
// (kind's) there; any other as this machine does.
func TestPodEndpoint(t *testing.T) {
	ep := opensearch.Endpoint{URL: "http://127.0.0.1:32768", Username: "admin", Password: "pw"}
	onKind := opensearch.Endpoint{URL: "http://opensearch:9200"}
	if got := podEndpoint(&opensearch.Instance{Endpoint: ep, NetworkEndpoint: &onKind}); got != onKind {
		t.Fatalf("on kind's network: %+v", got)
	}
	if got := podEndpoint(&opensearch.Instance{Endpoint: ep}); got != ep {
		t.Errorf("no network: %+v", got)
	}
}

// One auto policy: OpenSearch follows the cluster; what is named stays.
func TestChooseFollowsTheCluster(t *testing.T) {
	log := slog.New(slog.DiscardHandler)
	for _, c := range []struct{ cluster, os, wantCluster, wantOS string }{
		{cluster.Kind, opensearch.Auto, cluster.Kind, opensearch.Container},
		{cluster.Local, opensearch.Auto, cluster.Local, opensearch.Local},
		{cluster.Kubeconfig, "", cluster.Kubeconfig, opensearch.Local},
		{cluster.Local, opensearch.URL, cluster.Local, opensearch.URL},
		{cluster.Kind, opensearch.Local, cluster.Kind, opensearch.Local},
	} {
		if gc, gos := Choose(context.Background(), c.cluster, c.os, log); gc != c.wantCluster || gos != c.wantOS {
			t.Errorf("Choose(%s, %s) = %s, %s; want %s, %s", c.cluster, c.os, gc, gos, c.wantCluster, c.wantOS)
		}
	}
}
