// Package sink writes documents to OpenSearch in bulk, and never loses or
// doubles one: pending work is keyed by event UID (a newer version replaces
// an older one, so memory grows with live events, never with time),
// retryable failures (429, 5xx, network) are retried with exponential
// backoff and jitter for as long as the process lives, and a document
// rejected for good is logged once and counted.
package sink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"sync"
	"time"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/eventcheck/eventcheck/exporter/document"
	"github.com/eventcheck/eventcheck/exporter/metrics"
	"github.com/eventcheck/eventcheck/exporter/osclient"
)

// Config sizes the sink.
type Config struct {
	Client        *opensearchapi.Client
	Where         string // the endpoint, for messages
	Username      string
	MaxDocs       int
	MaxBytes      int
	FlushInterval time.Duration
	// MinInterval is the least time from the start of one bulk request
	// to the start of the next while documents keep coming: under a
	// stream, documents gather into fewer, larger requests (OpenSearch
	// pays a translog sync per request, the exporter a round trip). A
	// document after a quiet spell, or a full batch, goes at once.
	MinInterval time.Duration
	MaxPending  int
	// Backoff bounds: the first retry waits about MinBackoff, each
	// further one twice as long, up to MaxBackoff.
	MinBackoff, MaxBackoff time.Duration
	// ProbeInterval is how often an idle sink checks OpenSearch answers.
	ProbeInterval time.Duration
	Log           *slog.Logger
	Metrics       *metrics.Metrics
}

type entry struct {
	doc      *document.Document
	enqueued time.Time
}

// Sink batches documents to OpenSearch.
type Sink struct {
	cfg Config

	mu       sync.Mutex
	pending  map[string]entry // by event UID
	order    []string         // UIDs, oldest first
	inflight int              // taken, not yet confirmed or requeued
	full     bool
	space    chan struct{} // signalled when pending shrinks
	wake     chan struct{} // signalled when a batch may be ready

	contactMu  sync.Mutex
	contactOK  bool
	contactErr error
	contactAt  time.Time
}

// New returns a sink; Run sends.
func New(cfg Config) *Sink {
	if cfg.MinBackoff == 0 {
		cfg.MinBackoff = 100 * time.Millisecond
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = 30 * time.Second
	}
	if cfg.ProbeInterval == 0 {
		cfg.ProbeInterval = 5 * time.Second
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	return &Sink{cfg: cfg, pending: map[string]entry{}, space: make(chan struct{}, 1), wake: make(chan struct{}, 1)}
}

// Put queues a document, replacing any pending version of the same event.
// When MaxPending distinct events wait already, Put blocks until there is
// room or ctx ends: the watch slows down, nothing is dropped.
func (s *Sink) Put(ctx context.Context, d *document.Document) error {
	for {
		s.mu.Lock()
		if old, ok := s.pending[d.UID]; ok {
			s.pending[d.UID] = entry{doc: d, enqueued: old.enqueued}
			s.mu.Unlock()
			return nil
		}
		if len(s.pending)+s.inflight < s.cfg.MaxPending {
			s.pending[d.UID] = entry{doc: d, enqueued: time.Now()}
			s.order = append(s.order, d.UID)
			n := len(s.pending)
			s.full = false
			s.mu.Unlock()
			s.cfg.Metrics.Pending.Set(float64(n + s.inflightCount()))
			// Send as soon as the sender is idle: while a request is in
			// flight, the next batch forms by itself. FlushInterval stays
			// the upper bound, not a delay every document pays.
			signal(s.wake)
			return nil
		}
		if !s.full {
			s.full = true
			s.cfg.Metrics.PendingFull.Inc()
			s.cfg.Log.Warn("pending limit reached: waiting for OpenSearch before taking more events", "maxPending", s.cfg.MaxPending, "endpoint", s.cfg.Where)
		}
		s.mu.Unlock()
		select {
		case <-s.space:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// Pending is the number of distinct events not yet confirmed indexed
// (waiting or in flight).
func (s *Sink) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.pending) + s.inflight
}

func (s *Sink) inflightCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inflight
}

// Contact reports whether the last exchange with OpenSearch succeeded.
func (s *Sink) Contact() (ok bool, at time.Time, err error) {
	s.contactMu.Lock()
	defer s.contactMu.Unlock()
	return s.contactOK, s.contactAt, s.contactErr
}

func (s *Sink) setContact(err error) {
	s.contactMu.Lock()
	defer s.contactMu.Unlock()
	if err != nil && s.contactOK {
		s.cfg.Log.Error("OpenSearch unavailable; documents are kept and retried", "err", err)
	} else if err == nil && !s.contactOK && !s.contactAt.IsZero() {
		s.cfg.Log.Info("OpenSearch available again", "endpoint", s.cfg.Where)
	}
	s.contactOK, s.contactErr, s.contactAt = err == nil, err, time.Now()
}

// Run sends batches until ctx ends, then makes one last bounded attempt to
// flush what is pending.
func (s *Sink) Run(ctx context.Context) {
	tick := time.NewTicker(s.cfg.FlushInterval)
	defer tick.Stop()
	probe := time.NewTicker(s.cfg.ProbeInterval)
	defer probe.Stop()
	// Backoff grows from MinBackoff, doubling to MaxBackoff, with up to
	// 50% jitter so many exporters do not retry in step.
	fresh := func() wait.Backoff {
		return wait.Backoff{Duration: s.cfg.MinBackoff, Factor: 2, Jitter: 0.5, Steps: math.MaxInt32, Cap: s.cfg.MaxBackoff}
	}
	backoff := fresh()
	var lastSend time.Time
	s.checkContact(ctx)
	for {
		select {
		case <-ctx.Done():
			s.drain()
			return
		case <-tick.C:
		case <-s.wake:
		case <-probe.C:
			if s.Pending() == 0 {
				s.checkContact(ctx)
			}
			continue
		}
		for {
			if wait := time.Until(lastSend.Add(s.cfg.MinInterval)); wait > 0 && s.Pending() < s.cfg.MaxDocs {
				select {
				case <-ctx.Done():
					s.drain()
					return
				case <-time.After(wait):
				}
			}
			batch := s.take()
			if len(batch) == 0 {
				break
			}
			lastSend = time.Now()
			if err := s.send(ctx, batch); err != nil {
				d := backoff.Step()
				s.cfg.Log.Debug("bulk request failed; backing off", "err", err, "backoff", d)
				select {
				case <-ctx.Done():
					s.drain()
					return
				case <-time.After(d):
				}
				continue
			}
			backoff = fresh()
			if s.Pending() < s.cfg.MaxDocs {
				break // let more accumulate until the next tick
			}
		}
	}
}

// drain tries, for a short while, to send what is left on shutdown. What
// it cannot send is re-exported after restart from the event list.
func (s *Sink) drain() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		batch := s.take()
		if len(batch) == 0 {
			return
		}
		if s.send(ctx, batch) != nil {
			return
		}
	}
}

func (s *Sink) checkContact(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	s.setContact(osclient.Ping(ctx, s.cfg.Client, s.cfg.Where, s.cfg.Username))
}

// take removes up to MaxDocs / MaxBytes of the oldest pending documents.
func (s *Sink) take() []entry {
	s.mu.Lock()
	defer s.mu.Unlock()
	var batch []entry
	size := 0
	i := 0
	for ; i < len(s.order) && len(batch) < s.cfg.MaxDocs; i++ {
		e, ok := s.pending[s.order[i]]
		if !ok {
			continue
		}
		if len(batch) > 0 && size+len(e.doc.Body) > s.cfg.MaxBytes {
			break
		}
		size += len(e.doc.Body) + 100
		batch = append(batch, e)
		delete(s.pending, s.order[i])
	}
	s.order = s.order[i:]
	if len(s.order) == 0 {
		s.order = nil // let the old backing array go
	}
	s.inflight += len(batch)
	return batch
}

// finish ends a batch: retry goes back to pending unless a newer version
// of the same event arrived meanwhile; the rest is done.
func (s *Sink) finish(batch, retry []entry) {
	s.mu.Lock()
	for _, e := range retry {
		if _, newer := s.pending[e.doc.UID]; newer {
			continue
		}
		s.pending[e.doc.UID] = e
		s.order = append(s.order, e.doc.UID)
	}
	s.inflight -= len(batch)
	n := len(s.pending) + s.inflight
	s.mu.Unlock()
	s.cfg.Metrics.Pending.Set(float64(n))
	signal(s.space)
}

// send writes one bulk request. A returned error means the whole batch is
// to be retried (it has been requeued); per-document failures are handled
// here.
func (s *Sink) send(ctx context.Context, batch []entry) error {
	size := 0
	for _, e := range batch {
		size += len(e.doc.Body) + len(e.doc.Index) + len(e.doc.ID) + 40
	}
	body := bytes.NewBuffer(make([]byte, 0, size))
	for _, e := range batch {
		line, _ := json.Marshal(bulkAction{Index: bulkMeta{Index: e.doc.Index, ID: e.doc.ID}})
		body.Write(line)
		body.WriteByte('\n')
		body.Write(e.doc.Body)
		body.WriteByte('\n')
	}
	// Which kind of failure it is comes from the response: none (never
	// reached OpenSearch), an error status (the whole request), or items
	// to read one by one. Only each item's status and error are asked
	// for, and read into a struct of just those: the rest of an item
	// (index, id, version, shards, sequence number), read into maps, was
	// most of the exporter's allocations.
	var br bulkResponse
	resp, err := s.cfg.Client.Client.Do(ctx, http.MethodPost, opensearchapi.BulkReq{Body: body,
		Params: opensearchapi.BulkParams{FilterPath: []string{"errors", "items.*.status", "items.*.error"}}}, &br)
	switch {
	case resp == nil:
		return s.retryAll(batch, "error", osclient.Explain(s.cfg.Where, err))
	case resp.IsError():
		// 429, 5xx and also 401/403: credentials can be fixed or rotated
		// while we wait; nothing is dropped for them.
		return s.retryAll(batch, "retry", osclient.ExplainStatusError(s.cfg.Where, s.cfg.Username, resp.StatusCode, opensearch.ParseError(resp)))
	case err != nil || len(br.Items) != len(batch):
		return s.retryAll(batch, "error", fmt.Errorf("unreadable bulk response from %s (%v, %d items for %d documents)", s.cfg.Where, err, len(br.Items), len(batch)))
	}
	s.setContact(nil)
	now := time.Now()
	var retry []entry
	for i, item := range br.Items {
		status, reason := item.Index.Status, ""
		if item.Index.Error != nil {
			reason = item.Index.Error.Type + ": " + item.Index.Error.Reason
		}
		e := batch[i]
		switch {
		case status >= 200 && status < 300:
			s.cfg.Metrics.DocumentsIndexed.Inc()
			if !e.doc.Observed.IsZero() {
				s.cfg.Metrics.Latency.Observe(now.Sub(e.doc.Observed).Seconds())
			}
			if !e.doc.Delivered.IsZero() {
				s.cfg.Metrics.ExporterLatency.Observe(now.Sub(e.doc.Delivered).Seconds())
			}
		case status == http.StatusTooManyRequests || status >= 500:
			retry = append(retry, e)
		default:
			s.cfg.Metrics.DocumentsFailed.Inc()
			s.cfg.Log.Error(RejectedMessage, "uid", e.doc.UID, "id", e.doc.ID, "index", e.doc.Index, "status", status, "reason", reason)
		}
	}
	s.finish(batch, retry)
	switch {
	case len(retry) > 0:
		s.cfg.Metrics.BulkRequests.WithLabelValues("partial").Inc()
		s.cfg.Metrics.Retries.Add(float64(len(retry)))
		return errPartial
	case br.Errors:
		s.cfg.Metrics.BulkRequests.WithLabelValues("rejected").Inc()
	default:
		s.cfg.Metrics.BulkRequests.WithLabelValues("success").Inc()
	}
	return nil
}

func (s *Sink) retryAll(batch []entry, result string, err error) error {
	s.setContact(err)
	s.cfg.Metrics.BulkRequests.WithLabelValues(result).Inc()
	s.cfg.Metrics.Retries.Add(float64(len(batch)))
	s.finish(batch, batch)
	return err
}

// bulkResponse is what send reads of a bulk response: every request's
// actions are index actions.
type bulkResponse struct {
	Errors bool `json:"errors"`
	Items  []struct {
		Index struct {
			Status int `json:"status"`
			Error  *struct {
				Type   string `json:"type"`
				Reason string `json:"reason"`
			} `json:"error"`
		} `json:"index"`
	} `json:"items"`
}

// bulkAction is a bulk request's action line: {"index":{"_index":…,"_id":…}}.
type bulkAction struct {
	Index bulkMeta `json:"index"`
}

type bulkMeta struct {
	Index string `json:"_index"`
	ID    string `json:"_id,omitempty"` // "" lets OpenSearch choose
}

func signal(ch chan struct{}) {
	select {
	case ch <- struct{}{}:
	default:
	}
}

// RejectedMessage is the log message of a document rejected for good,
// with the attributes uid, id, index, status and reason: one line per
// document, which is how a harness reads why documents were lost.
const RejectedMessage = "OpenSearch rejected a document; it will not be retried"

// errPartial asks Run to back off before resending part of a batch.
var errPartial = errors.New("some documents must be retried")
