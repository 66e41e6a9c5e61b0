// Package metrics defines the exporter's Prometheus metrics on a registry
// of its own (no global state).
package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Metrics are the exporter's instruments.
type Metrics struct {
	Registry         *prometheus.Registry
	EventsReceived   *prometheus.CounterVec // by type
	EventsSkipped    *prometheus.CounterVec // by reason: too_old, not_routed
	DocumentsIndexed prometheus.Counter
	DocumentsFailed  prometheus.Counter     // rejected for good (e.g. mapping errors)
	BulkRequests     *prometheus.CounterVec // by result: success, partial, rejected, retry, error
	Retries          prometheus.Counter
	Pending          prometheus.Gauge
	PendingFull      prometheus.Counter
	Latency          prometheus.Histogram
	ExporterLatency  prometheus.Histogram
	WatchErrors      prometheus.Counter
	// Lookups of involved objects, by source: cache, get, list.
	Lookups *prometheus.CounterVec
	// EnrichmentDeferred counts events exported before their lookup
	// landed (their documents are updated when it does).
	EnrichmentDeferred prometheus.Counter
}

// New creates and registers the metrics.
func New() *Metrics {
	r := prometheus.NewRegistry()
	r.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	m := &Metrics{
		Registry: r,
		EventsReceived: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_exporter_events_received_total", Help: "Event adds and updates seen by the watch, by event type.",
		}, []string{"type"}),
		EventsSkipped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_exporter_events_skipped_total", Help: "Events not exported, by reason.",
		}, []string{"reason"}),
		DocumentsIndexed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "events_exporter_documents_indexed_total", Help: "Documents OpenSearch accepted.",
		}),
		DocumentsFailed: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "events_exporter_documents_rejected_total", Help: "Documents OpenSearch rejected for good (not retried).",
		}),
		BulkRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_exporter_bulk_requests_total", Help: "Bulk requests by result.",
		}, []string{"result"}),
		Retries: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "events_exporter_retries_total", Help: "Documents sent again after a retryable failure.",
		}),
		Pending: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "events_exporter_pending_documents", Help: "Distinct events waiting to be indexed.",
		}),
		PendingFull: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "events_exporter_pending_limit_reached_total", Help: "Times the pending limit was reached and the watch had to wait.",
		}),
		Latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "events_exporter_event_to_indexed_seconds",
			Help:    "From the event's last observation to OpenSearch accepting its document.",
			Buckets: []float64{.05, .1, .25, .5, 1, 2, 5, 10, 30, 60, 300},
		}),
		// lastTimestamp has one-second resolution: the exporter's own
		// share, milliseconds, needs its own clock.
		ExporterLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "events_exporter_watch_to_indexed_seconds",
			Help:    "From the watch delivering an event's version to OpenSearch accepting its document: the exporter's own share, lookups and retries included.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60},
		}),
		WatchErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "events_exporter_watch_errors_total", Help: "Errors from the event watch.",
		}),
		Lookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "events_exporter_enrichment_lookups_total", Help: "Involved-object lookups, by source (cache, get, list).",
		}, []string{"source"}),
		EnrichmentDeferred: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "events_exporter_enrichment_deferred_total", Help: "Events exported before their involved object's lookup landed, then updated.",
		}),
	}
	r.MustRegister(m.EventsReceived, m.EventsSkipped, m.DocumentsIndexed, m.DocumentsFailed, m.BulkRequests,
		m.Retries, m.Pending, m.PendingFull, m.Latency, m.ExporterLatency, m.WatchErrors, m.Lookups, m.EnrichmentDeferred)
	return m
}
