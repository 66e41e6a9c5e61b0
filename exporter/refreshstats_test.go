package exporter_test

import (
	"context"
	"encoding/json"
	"net/http"
	"sync"
	"time"
)

// shardActivity is what sampleShard saw of an index's scheduled
// refreshes and its merges.
type shardActivity struct {
	Refreshes      int           // scheduled (external) refreshes
	LongestRefresh time.Duration // the slowest of them
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
	read := func() (s stats, ok bool) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, env.osURL+"/"+index+"/_stats/refresh,merge", nil)
		if err != nil {
			return s, false
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return s, false
		}
		defer resp.Body.Close()
		return s, json.NewDecoder(resp.Body).Decode(&s) == nil
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
