package harness

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

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

// Every part's build comes before any part starts: the OpenSearch
// container's readiness wait ran out while kind's node image built.
func TestBuildsComeBeforeAnyStart(t *testing.T) {
	var rec recorder
	env := &Env{ClusterKind: cluster.Kind, OpenSearchKind: opensearch.Container,
		Cluster: &fakeCluster{rec: &rec, build: 100 * time.Millisecond}, OpenSearch: &fakeOpenSearch{rec: &rec}}
	if err := env.start(context.Background()); err != nil {
		t.Fatal(err)
	}
	got := strings.Join(rec.events, ", ")
	if i, j := strings.Index(got, "cluster built"), strings.Index(got, "opensearch started"); i < 0 || j < 0 || j < i {
		t.Errorf("events: %s; want the cluster's build before OpenSearch's start", got)
	}
	if env.Instance == nil || len(env.started) != 2 {
		t.Errorf("started %v, instance %v; want both up", env.started, env.Instance)
	}

	// A failed build starts nothing and names the part.
	rec = recorder{}
	env = &Env{ClusterKind: cluster.Kind, OpenSearchKind: opensearch.Container,
		Cluster: &fakeCluster{rec: &rec, fail: errors.New("no debootstrap")}, OpenSearch: &fakeOpenSearch{rec: &rec}}
	err := env.start(context.Background())
	if err == nil || !strings.Contains(err.Error(), "cluster (kind): no debootstrap") || strings.Contains(strings.Join(rec.events, ","), "started") {
		t.Errorf("err %v, events %v; want the cluster's build error and nothing started", err, rec.events)
	}
}

type recorder struct {
	mu     sync.Mutex
	events []string
}

func (r *recorder) add(e string) { r.mu.Lock(); defer r.mu.Unlock(); r.events = append(r.events, e) }

type fakeCluster struct {
	cluster.Provider
	rec   *recorder
	build time.Duration // how long its image takes to build
	fail  error
}

func (f *fakeCluster) Prepare(ctx context.Context) error {
	time.Sleep(f.build)
	if f.fail != nil {
		return f.fail
	}
	f.rec.add("cluster built")
	return nil
}

func (f *fakeCluster) Up(context.Context) error { f.rec.add("cluster started"); return nil }

type fakeOpenSearch struct {
	opensearch.Provider
	rec *recorder
}

func (f *fakeOpenSearch) Prepare(context.Context) error { f.rec.add("opensearch built"); return nil }

func (f *fakeOpenSearch) Start(context.Context) (*opensearch.Instance, error) {
	f.rec.add("opensearch started")
	return &opensearch.Instance{}, nil
}
