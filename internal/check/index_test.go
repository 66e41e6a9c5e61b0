package check

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// fakeIndex answers every search with the same documents and keeps the
// queries it was sent; the engine filters what a check needs itself.
type fakeIndex struct {
	mu      sync.Mutex
	docs    []map[string]any
	queries []string
}

func (f *fakeIndex) searcher(t *testing.T) *eventindex.Searcher {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		f.mu.Lock()
		f.queries = append(f.queries, string(body))
		f.mu.Unlock()
		var hits []string
		for i, d := range f.docs {
			src, _ := json.Marshal(d)
			hits = append(hits, fmt.Sprintf(`{"_index":"eks-kubernetes-events","_id":"d%d","_source":%s}`, i, src))
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"took":1,"timed_out":false,"_shards":{"total":1,"successful":1,"skipped":0,"failed":0},"hits":{"total":{"value":%d,"relation":"eq"},"hits":[%s]}}`,
			len(f.docs), strings.Join(hits, ","))
	}))
	t.Cleanup(srv.Close)
	c, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{Addresses: []string{srv.URL}}})
	if err != nil {
		t.Fatal(err)
	}
	return eventindex.NewSearcher(c, "eks-kubernetes-events")
}

func runnerOn(search *eventindex.Searcher, applied time.Time) *Runner {
	return &Runner{s: &scenario.Scenario{Checks: scenario.Checks{Namespace: "test"}}, env: Env{Search: search},
		progress: func(Result, bool) {}, applied: map[string]time.Time{"broken": applied}, recorded: map[string]int64{}}
}

// A failed document check's own line names what its nearest miss lacks,
// not only the diagnostics: here the scheduler's event without the
// dashboard's time field.
func TestFailedDocumentNamesItsNearestMissesCause(t *testing.T) {
	idx := &fakeIndex{docs: []map[string]any{{
		"type": "Warning", "reason": "FailedScheduling", "message": "0/3 nodes are available: 3 Insufficient cpu.",
		"metadata":       map[string]any{"namespace": "test"},
		"involvedObject": map[string]any{"kind": "Pod", "name": "scenario-c-1", "namespace": "test"},
	}}}
	r := runnerOn(idx.searcher(t), time.Now())
	d := scenario.DocumentCheck{Name: "c", Type: "Warning", Reason: "FailedScheduling", Kind: "Pod", NamePrefix: "scenario-c",
		Namespace: "test", AtLeast: 1, Timeout: 300 * time.Millisecond, VisibleOn: "lastTimestamp"}
	res := document(context.Background(), r, "broken", d)
	if res.Passed || !strings.Contains(res.Detail, "nearest fails: lastTimestamp is empty") {
		t.Fatalf("detail %q does not name the nearest miss's cause", res.Detail)
	}
}

// record counts the run's window, as the dashboard's panels do, not every
// document the index ever had.
func TestRecordCountsTheRunsWindow(t *testing.T) {
	idx := &fakeIndex{}
	applied := time.Date(2026, 12, 1, 10, 0, 0, 500_000_000, time.UTC)
	r := runnerOn(idx.searcher(t), applied)
	if res := record(context.Background(), r, "broken", scenario.Count{Name: "n", Type: "Normal"}); !res.Passed {
		t.Fatalf("record: %+v", res)
	}
	if len(idx.queries) != 1 || !strings.Contains(idx.queries[0], `"lastTimestamp":{"gte":"2026-12-01T10:00:00Z"`) {
		t.Fatalf("record's query has no range from the run's first apply: %v", idx.queries)
	}
}
