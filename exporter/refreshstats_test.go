package exporter_test

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
)

// shardActivity is what sampleShard saw of an index's scheduled
// refreshes and its merges.
type shardActivity struct {
	Refreshes      int           // scheduled (external) refreshes
	LongestRefresh time.Duration // the slowest of them
	RefreshTime    time.Duration // all of them
	Merges         int
	MergeTime      time.Duration
}

// sampleShard reads the index's refresh and merge stats every 50 ms (a
// refresh each second) until the returned function is called. While a
// refresh runs, every document indexed since the one before waits for it.
func sampleShard(ctx context.Context, index string) (stop func() shardActivity) {
	type stats struct {
		All struct {
			Primaries struct {
				Refresh struct {
					External int   `json:"external_total"`
					TimeMS   int64 `json:"external_total_time_in_millis"`
				} `json:"refresh"`
				Merges struct {
					Total  int   `json:"total"`
					TimeMS int64 `json:"total_time_in_millis"`
				} `json:"merges"`
			} `json:"primaries"`
		} `json:"_all"`
	}
	// The typed response has no external refresh counts: read our own.
	read := func() (s stats, ok bool) {
		_, err := env.search.Client.Client.Do(ctx, http.MethodGet, opensearchapi.IndicesStatsReq{Indices: []string{index}, Metrics: []string{"refresh", "merge"}}, &s)
		return s, err == nil
	}
	var mu sync.Mutex
	var a shardActivity
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		prev, ok := read()
		for ok {
			select {
			case <-done:
				return
			case <-time.After(50 * time.Millisecond):
			}
			s, good := read()
			if !good {
				continue
			}
			r, pr := s.All.Primaries.Refresh, prev.All.Primaries.Refresh
			m, pm := s.All.Primaries.Merges, prev.All.Primaries.Merges
			mu.Lock()
			if n := r.External - pr.External; n > 0 {
				a.Refreshes += n
				a.RefreshTime += time.Duration(r.TimeMS-pr.TimeMS) * time.Millisecond
				a.LongestRefresh = max(a.LongestRefresh, time.Duration(r.TimeMS-pr.TimeMS)*time.Millisecond/time.Duration(n))
			}
			a.Merges += m.Total - pm.Total
			a.MergeTime += time.Duration(m.TimeMS-pm.TimeMS) * time.Millisecond
			mu.Unlock()
			prev = s
		}
	})
	return func() shardActivity {
		close(done)
		wg.Wait()
		mu.Lock()
		defer mu.Unlock()
		return a
	}
}

// refreshMoments writes one probe document into the index again and
// again, each time with refresh=wait_for, which OpenSearch answers once a
// refresh has made the write searchable: the answers are the moments the
// index's scheduled refreshes ended (within a loopback round trip), and no
// refresh is forced. The returned function stops it and gives them.
func refreshMoments(ctx context.Context, index string) (stop func() []time.Time) {
	ctx, cancel := context.WithCancel(ctx)
	var ends []time.Time
	var wg sync.WaitGroup
	wg.Go(func() {
		for ctx.Err() == nil {
			_, err := env.search.Client.Index(ctx, opensearchapi.IndexReq{Index: index, DocumentID: "eventcheck-refresh-probe",
				Body: strings.NewReader(`{"metadata":{"namespace":"eventcheck-refresh-probe"}}`), Params: opensearchapi.IndexParams{Refresh: "wait_for"}})
			if err == nil {
				ends = append(ends, time.Now())
			}
		}
	})
	return func() []time.Time {
		cancel()
		wg.Wait()
		return ends
	}
}
