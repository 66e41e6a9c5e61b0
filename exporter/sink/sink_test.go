package sink

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"

	"github.com/eventcheck/eventcheck/exporter/document"
	"github.com/eventcheck/eventcheck/exporter/metrics"
	"github.com/eventcheck/eventcheck/exporter/osclient"
)

// fakeBulk is an OpenSearch _bulk endpoint that keeps documents by id and
// can be told to fail.
type fakeBulk struct {
	mu        sync.Mutex
	docs      map[string]string // id -> body
	writes    map[string]int    // id -> successful writes
	requests  int
	maxBatch  int
	down      bool           // whole requests fail with 503
	itemFails map[string]int // id -> status to answer (once for 429, always for 400)
	// hold, when set, holds the next bulk request until it is closed.
	hold chan struct{}
}

func newFakeBulk() *fakeBulk {
	return &fakeBulk{docs: map[string]string{}, writes: map[string]int{}, itemFails: map[string]int{}}
}

func (f *fakeBulk) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	if hold := f.hold; hold != nil && r.URL.Path != "/" {
		f.hold = nil
		f.requests++ // seen, though not answered yet
		f.mu.Unlock()
		<-hold
		f.mu.Lock()
		f.requests--
	}
	defer f.mu.Unlock()
	if f.down {
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte(`{"error":"unavailable"}`))
		return
	}
	if r.URL.Path == "/" {
		_, _ = w.Write([]byte(`{"version":{"number":"2.19.6"}}`))
		return
	}
	f.requests++
	var items []string
	sc := bufio.NewScanner(r.Body)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	n := 0
	for sc.Scan() {
		var meta struct {
			Index struct {
				ID string `json:"_id"`
			} `json:"index"`
		}
		if err := json.Unmarshal(sc.Bytes(), &meta); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		sc.Scan()
		id, body := meta.Index.ID, sc.Text()
		n++
		status := 201
		if code, ok := f.itemFails[id]; ok {
			status = code
			if code == 429 {
				delete(f.itemFails, id)
			}
		}
		if status < 300 {
			f.docs[id] = body
			f.writes[id]++
			items = append(items, fmt.Sprintf(`{"index":{"_id":%q,"status":%d}}`, id, status))
		} else {
			items = append(items, fmt.Sprintf(`{"index":{"_id":%q,"status":%d,"error":{"type":"x","reason":"failed"}}}`, id, status))
		}
	}
	f.maxBatch = max(f.maxBatch, n)
	fmt.Fprintf(w, `{"took":1,"errors":false,"items":[%s]}`, strings.Join(items, ","))
}

func (f *fakeBulk) set(fn func(f *fakeBulk)) {
	f.mu.Lock()
	defer f.mu.Unlock()
	fn(f)
}

func (f *fakeBulk) snapshot() (docs map[string]string, writes map[string]int, requests, maxBatch int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	d, wr := map[string]string{}, map[string]int{}
	for k, v := range f.docs {
		d[k] = v
	}
	for k, v := range f.writes {
		wr[k] = v
	}
	return d, wr, f.requests, f.maxBatch
}

func start(t *testing.T, f *fakeBulk, tune func(*Config)) (*Sink, *metrics.Metrics, context.CancelFunc) {
	t.Helper()
	srv := httptest.NewServer(f)
	t.Cleanup(srv.Close)
	c, err := osclient.New(context.Background(), osclient.Config{Hosts: []string{srv.URL}, DisableRetry: true})
	if err != nil {
		t.Fatal(err)
	}
	m := metrics.New()
	cfg := Config{Client: c, Where: srv.URL, MaxDocs: 100, MaxBytes: 1 << 20, FlushInterval: 20 * time.Millisecond,
		MaxPending: 10000, MinBackoff: 5 * time.Millisecond, MaxBackoff: 50 * time.Millisecond, ProbeInterval: 20 * time.Millisecond, Metrics: m}
	if tune != nil {
		tune(&cfg)
	}
	s := New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { s.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return s, m, cancel
}

func doc(uid string, version int) *document.Document {
	return &document.Document{UID: uid, ID: uid, Index: "events", Body: []byte(fmt.Sprintf(`{"uid":%q,"v":%d}`, uid, version)), Observed: time.Now()}
}

// waitFor polls a condition with a bound.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestBatchesAndIndexesEverythingOnce(t *testing.T) {
	f := newFakeBulk()
	s, m, _ := start(t, f, nil)
	for i := range 1000 {
		if err := s.Put(context.Background(), doc(fmt.Sprint(i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "1000 documents", func() bool { d, _, _, _ := f.snapshot(); return len(d) == 1000 })
	_, writes, requests, maxBatch := f.snapshot()
	for id, n := range writes {
		if n != 1 {
			t.Fatalf("document %s written %d times", id, n)
		}
	}
	if maxBatch > 100 || requests > 50 {
		t.Fatalf("batches up to %d docs in %d requests; want ≤100 per request and few requests", maxBatch, requests)
	}
	// The server stores before the sink reads its answer: wait for the
	// sink's side too.
	waitFor(t, "indexed metric at 1000", func() bool { return testutil.ToFloat64(m.DocumentsIndexed) == 1000 })
	waitFor(t, "nothing pending", func() bool { return s.Pending() == 0 })
}

func TestNewerVersionReplacesPending(t *testing.T) {
	f := newFakeBulk()
	f.down = true
	s, _, _ := start(t, f, nil)
	for v := 1; v <= 50; v++ {
		_ = s.Put(context.Background(), doc("same-event", v))
	}
	if s.Pending() != 1 {
		t.Fatalf("pending = %d, want 1: versions of one event must not pile up", s.Pending())
	}
	f.set(func(f *fakeBulk) { f.down = false })
	waitFor(t, "the latest version", func() bool { d, _, _, _ := f.snapshot(); return strings.Contains(d["same-event"], `"v":50`) })
}

func TestOutageLosesNothingAndDoublesNothing(t *testing.T) {
	f := newFakeBulk()
	s, m, _ := start(t, f, nil)
	for i := range 200 {
		_ = s.Put(context.Background(), doc(fmt.Sprint(i), 1))
	}
	waitFor(t, "first 200", func() bool { d, _, _, _ := f.snapshot(); return len(d) == 200 })
	f.set(func(f *fakeBulk) { f.down = true })
	waitFor(t, "not ready", func() bool { ok, _, _ := s.Contact(); return !ok })
	for i := 200; i < 400; i++ {
		_ = s.Put(context.Background(), doc(fmt.Sprint(i), 1))
	}
	for i := range 50 { // updates during the outage
		_ = s.Put(context.Background(), doc(fmt.Sprint(i), 2))
	}
	time.Sleep(100 * time.Millisecond) // several failed attempts, by design of this test
	if s.Pending() != 250 {
		t.Fatalf("pending %d during the outage, want 250 (200 new + 50 updated)", s.Pending())
	}
	f.set(func(f *fakeBulk) { f.down = false })
	waitFor(t, "all 400", func() bool { d, _, _, _ := f.snapshot(); return len(d) == 400 && s.Pending() == 0 })
	waitFor(t, "ready", func() bool { ok, _, _ := s.Contact(); return ok })
	docs, writes, _, _ := f.snapshot()
	for i := range 400 {
		id := fmt.Sprint(i)
		want := 1
		if i < 50 {
			want = 2
			if !strings.Contains(docs[id], `"v":2`) {
				t.Fatalf("document %s is %s, want version 2", id, docs[id])
			}
		}
		if writes[id] != want {
			t.Fatalf("document %s written %d times, want %d", id, writes[id], want)
		}
	}
	if testutil.ToFloat64(m.Retries) == 0 {
		t.Fatal("no retries counted")
	}
}

func TestPerDocumentFailures(t *testing.T) {
	f := newFakeBulk()
	f.itemFails["throttled"] = 429
	f.itemFails["bad-mapping"] = 400
	s, m, _ := start(t, f, nil)
	for _, id := range []string{"ok", "throttled", "bad-mapping"} {
		_ = s.Put(context.Background(), doc(id, 1))
	}
	waitFor(t, "throttled retried", func() bool { d, _, _, _ := f.snapshot(); return d["throttled"] != "" && d["ok"] != "" })
	waitFor(t, "nothing pending", func() bool { return s.Pending() == 0 })
	if d, _, _, _ := f.snapshot(); d["bad-mapping"] != "" {
		t.Fatal("rejected document stored")
	}
	if got := testutil.ToFloat64(m.DocumentsFailed); got != 1 {
		t.Fatalf("rejected metric %v, want 1 (logged once, not retried)", got)
	}
}

func TestPendingLimitWaitsInsteadOfDropping(t *testing.T) {
	f := newFakeBulk()
	f.down = true
	s, m, _ := start(t, f, func(c *Config) { c.MaxPending = 10 })
	for i := range 10 {
		if err := s.Put(context.Background(), doc(fmt.Sprint(i), 1)); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	if err := s.Put(ctx, doc("eleventh", 1)); err == nil {
		t.Fatal("Put beyond the limit returned without room")
	}
	if testutil.ToFloat64(m.PendingFull) != 1 {
		t.Fatal("limit not reported in metrics")
	}
	// An update to a pending event still fits.
	if err := s.Put(context.Background(), doc("3", 2)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Put(context.Background(), doc("eleventh", 1)) }()
	f.set(func(f *fakeBulk) { f.down = false })
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	waitFor(t, "all 11", func() bool { d, _, _, _ := f.snapshot(); return len(d) == 11 })
}

// While a request is in flight, documents accumulate, and the next
// requests carry them in full batches; when idle, one document is sent at
// once rather than at the next flush tick.
func TestBatchesFillWhileARequestIsInFlight(t *testing.T) {
	f := newFakeBulk()
	hold := make(chan struct{})
	f.set(func(f *fakeBulk) { f.hold = hold })
	s, _, _ := start(t, f, func(c *Config) { c.FlushInterval = time.Hour })
	ctx := context.Background()
	_ = s.Put(ctx, doc("first", 1))
	waitFor(t, "the first request", func() bool { _, _, req, _ := f.snapshot(); return req == 1 })
	for i := range 250 {
		_ = s.Put(ctx, doc(fmt.Sprint("burst-", i), 1))
	}
	close(hold)
	waitFor(t, "every document", func() bool { d, _, _, _ := f.snapshot(); return len(d) == 251 })
	if _, _, requests, maxBatch := f.snapshot(); requests != 4 || maxBatch != 100 {
		t.Errorf("251 documents in %d requests, largest %d; want 4 requests (1, then 100, 100, 50)", requests, maxBatch)
	}

	// Idle: sent at once, not after the hour-long flush interval.
	_ = s.Put(ctx, doc("alone", 1))
	waitFor(t, "a lone document", func() bool { d, _, _, _ := f.snapshot(); return d["alone"] != "" })
}

// A stream of documents, one every millisecond, goes in requests spaced
// MinInterval apart, not one request per document; a document after a
// quiet spell is still sent at once.
func TestMinIntervalGathersAStream(t *testing.T) {
	f := newFakeBulk()
	s, _, _ := start(t, f, func(c *Config) { c.FlushInterval = time.Hour; c.MinInterval = 50 * time.Millisecond })
	ctx := context.Background()
	started := time.Now()
	for i := range 200 {
		_ = s.Put(ctx, doc(fmt.Sprint("stream-", i), 1))
		time.Sleep(time.Millisecond)
	}
	waitFor(t, "every document", func() bool { d, _, _, _ := f.snapshot(); return len(d) == 200 })
	// At most one request per MinInterval over the stream, and the one
	// that starts it.
	_, _, requests, _ := f.snapshot()
	if most := int(time.Since(started)/(50*time.Millisecond)) + 2; requests > most {
		t.Errorf("200 documents over %s in %d requests; want at most %d", time.Since(started).Round(time.Millisecond), requests, most)
	}

	time.Sleep(100 * time.Millisecond) // a quiet spell longer than MinInterval
	_ = s.Put(ctx, doc("alone", 1))
	waitFor(t, "a lone document", func() bool { d, _, _, _ := f.snapshot(); return d["alone"] != "" })
}

// The exporter's own latency runs from the watch's delivery to
// OpenSearch's answer, on the exporter's clock: a document delivered a
// second ago counts at least a second; one not from a watch is not
// counted.
func TestExporterLatencyFromDelivery(t *testing.T) {
	f := newFakeBulk()
	s, m, _ := start(t, f, nil)
	watched := doc("watched", 1)
	watched.Delivered = time.Now().Add(-time.Second)
	for _, d := range []*document.Document{watched, doc("listed-by-hand", 1)} {
		if err := s.Put(context.Background(), d); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "both indexed", func() bool { return testutil.ToFloat64(m.DocumentsIndexed) == 2 })
	var got dto.Metric
	if err := m.ExporterLatency.Write(&got); err != nil {
		t.Fatal(err)
	}
	if h := got.GetHistogram(); h.GetSampleCount() != 1 || h.GetSampleSum() < 1 {
		t.Errorf("exporter latency: %d samples summing %.3f s, want 1 of at least 1 s", h.GetSampleCount(), h.GetSampleSum())
	}
}
