package dashboard

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/eventcheck/eventcheck/internal/eventindex"
)

// countingIndex answers searches with a hit count: inNamespace when the
// query filters on the scenario's namespace, elsewhere otherwise.
func countingIndex(t *testing.T, inNamespace, elsewhere int) *eventindex.Searcher {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		n := inNamespace + elsewhere
		if strings.Contains(string(body), "metadata.namespace") {
			n = inNamespace
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"took":1,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},"hits":{"total":{"value":%d,"relation":"eq"},"hits":[]}}`, n)
	}))
	t.Cleanup(srv.Close)
	c, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{Addresses: []string{srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	return eventindex.NewSearcher(c, "eks-kubernetes-events")
}

// The Warnings metric shows every namespace's count, but the story holds
// only when its own namespace's Warnings make the number: the nodes'
// Warnings in default are no stand-in for the scenario's.
func TestWarningMetricCountsTheStorysOwnWarnings(t *testing.T) {
	f, err := Load(fixtures + "workshop.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.Dashboard("kubernetes-events")
	if err != nil {
		t.Fatal(err)
	}
	var metric Panel
	for _, p := range d.Panels {
		if p.Kind == Metric {
			metric = p
		}
	}
	story := Story{Namespace: "test", Since: time.Now().Add(-time.Minute), Until: time.Now(), WarningsAtLeast: 3}
	ctx := context.Background()
	if r := checkPanel(ctx, countingIndex(t, 0, 5), metric, story); r.Passed {
		t.Fatalf("5 Warnings elsewhere and none in test passed: %s", r.Detail)
	}
	r := checkPanel(ctx, countingIndex(t, 3, 5), metric, story)
	if !r.Passed || r.Data != int64(8) || !strings.Contains(r.Detail, "3 of them in namespace test") {
		t.Fatalf("3 Warnings in test: passed %v, shows %v: %s", r.Passed, r.Data, r.Detail)
	}
}
