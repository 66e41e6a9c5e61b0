// Package exporter watches every Kubernetes event and writes it to
// OpenSearch: a drop-in for the exporter the workshop installs that keeps
// updates (count, lastTimestamp), fills the times events.k8s.io events
// leave empty, loses nothing while OpenSearch is away, doubles nothing on
// restart, and says when it is not ready.
//
// The pipeline is client-go's reflector feeding a work queue: the watch
// hands each new version of an event to a store that keeps only what is
// not exported yet (and every event's resourceVersion), workers take the
// newest version of an event, route and enrich it, and hand the document
// to one sink per receiver.
package exporter

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/leaderelection"
	"k8s.io/client-go/tools/leaderelection/resourcelock"
	"k8s.io/client-go/util/workqueue"

	"github.com/eventcheck/eventcheck/exporter/config"
	"github.com/eventcheck/eventcheck/exporter/document"
	"github.com/eventcheck/eventcheck/exporter/enrich"
	"github.com/eventcheck/eventcheck/exporter/metrics"
	"github.com/eventcheck/eventcheck/exporter/osclient"
	"github.com/eventcheck/eventcheck/exporter/sink"
)

// workers process events in parallel; the sink batches their output.
const workers = 4

// Option configures Run.
type Option func(*options)

type options struct {
	log      *slog.Logger
	metrics  *metrics.Metrics
	listener net.Listener
	identity string
	ownNS    string
	profile  bool
}

// WithLogger sets the logger.
func WithLogger(l *slog.Logger) Option { return func(o *options) { o.log = l } }

// WithMetrics sets the metrics (tests read them).
func WithMetrics(m *metrics.Metrics) Option { return func(o *options) { o.metrics = m } }

// WithListener serves /metrics, /healthz and /readyz on l instead of the
// configured address.
func WithListener(l net.Listener) Option { return func(o *options) { o.listener = l } }

// WithNamespace is the namespace this exporter runs in (in a cluster, its
// service account's): the lease lives there unless
// leaderElection.namespace says otherwise.
func WithNamespace(ns string) Option { return func(o *options) { o.ownNS = ns } }

// WithProfiling serves Go's profiles under /debug/pprof/ beside
// /metrics, as Kubernetes components do with --profiling. Off by default:
// a profile shows what the process holds, and the metrics port is often
// reachable by more than its operator.
func WithProfiling(on bool) Option { return func(o *options) { o.profile = on } }

// WithIdentity names this replica for leader election (default: hostname).
func WithIdentity(id string) Option { return func(o *options) { o.identity = id } }

type receiver struct {
	name string
	sink *sink.Sink
	opts document.Options
}

type exporter struct {
	cfg       *config.Config
	log       *slog.Logger
	metrics   *metrics.Metrics
	receivers map[string]*receiver
	router    *router
	enrich    *enrich.Enricher
	// updatable: every receiver writes under the event's UID, so an
	// event can be exported before its lookup lands and updated after.
	updatable bool
	events    *events
	// queue is a plain queue: an export fails only for good (a document
	// that cannot be built) or on shutdown, so there is nothing to retry
	// through a rate limiter; OpenSearch's retries live in the sink.
	queue  workqueue.TypedInterface[string]
	maxAge time.Duration
	// standby is true while another replica holds the lease: this one
	// watches nothing, and is ready when it could take over.
	standby atomic.Bool
}

// Run exports events until ctx ends. It returns an error when it cannot
// start (bad credentials for the cluster, no listener); OpenSearch being
// away is not an error: documents wait and /readyz says why.
func Run(ctx context.Context, cfg *config.Config, restConfig *rest.Config, opts ...Option) error {
	o := newOptions(opts)
	client, metaClient, err := kubeClients(cfg, restConfig)
	if err != nil {
		return err
	}
	x := newExporter(cfg, o, client, metaClient)

	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	// Cancel first, then wait: a return after the sinks started (a
	// metrics address taken, a lost lease) must end them, not wait on them.
	defer func() {
		cancel()
		wg.Wait()
	}()
	if err := x.startReceivers(ctx, &wg, o); err != nil {
		return err
	}
	if x.enrich != nil {
		wg.Go(func() { x.enrich.Run(ctx) })
	}

	reflector := x.watchEvents(client)
	srv, err := x.serve(o, cfg.MetricsAddress)
	if err != nil {
		return err
	}
	defer srv.Shutdown(context.Background())

	run := func(ctx context.Context) { x.process(ctx, reflector) }
	if !cfg.LeaderElection.Enabled {
		run(ctx)
		return nil
	}
	x.standby.Store(true)
	return x.lead(ctx, client, cfg.LeaderElection, o, run)
}

// newOptions applies opts over defaults that need no caller: a logger
// that discards and metrics of our own.
func newOptions(opts []Option) options {
	o := options{}
	for _, opt := range opts {
		opt(&o)
	}
	if o.log == nil {
		o.log = slog.New(slog.DiscardHandler)
	}
	if o.metrics == nil {
		o.metrics = metrics.New()
	}
	return o
}

// kubeClients builds the events client and the metadata client the
// enricher looks objects up with, both under the configured rate limit.
func kubeClients(cfg *config.Config, restConfig *rest.Config) (*kubernetes.Clientset, metadata.Interface, error) {
	restConfig = rest.CopyConfig(restConfig)
	restConfig.QPS, restConfig.Burst = cfg.KubeQPS, cfg.KubeBurst
	restConfig.UserAgent = "events-exporter"
	// Events are watched as protobuf: decoding the stream is most of
	// the exporter's CPU under load, and protobuf costs a fraction of
	// JSON. (The metadata client keeps JSON, which it requires.)
	protoConfig := rest.CopyConfig(restConfig)
	protoConfig.ContentType = "application/vnd.kubernetes.protobuf"
	protoConfig.AcceptContentTypes = "application/vnd.kubernetes.protobuf,application/json"
	// Uncompressed: the exporter runs beside its API server, where
	// gzip costs both ends CPU (a twentieth of ours under load, to
	// inflate the watch) and saves nothing worth it.
	protoConfig.DisableCompression = true
	// Its own connection (a Dial makes client-go build it a transport of
	// its own), read in gathers: see readGap. Lookups keep theirs.
	protoConfig.Dial = gatheringDial(readGap)
	client, err := kubernetes.NewForConfig(protoConfig)
	if err != nil {
		return nil, nil, fmt.Errorf("failed to create Kubernetes client: %w", err)
	}
	metaClient, err := metadata.NewForConfig(restConfig)
	if err != nil {
		return nil, nil, err
	}
	return client, metaClient, nil
}

// newExporter wires the parts that need no network yet: router, queue and
// (unless disabled) the enricher.
func newExporter(cfg *config.Config, o options, client kubernetes.Interface, metaClient metadata.Interface) *exporter {
	x := &exporter{
		cfg: cfg, log: o.log, metrics: o.metrics, receivers: map[string]*receiver{},
		router: newRouter(cfg.Route), maxAge: time.Duration(cfg.MaxEventAgeSeconds) * time.Second,
		queue: workqueue.NewTypedWithConfig(workqueue.TypedQueueConfig[string]{Name: "events"}),
	}
	if !cfg.Enrichment.Disabled {
		x.enrich = enrich.New(enrich.Config{
			Metadata:  metaClient,
			Mapper:    restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(client.Discovery())),
			CacheSize: cfg.Enrichment.CacheSize, TTL: cfg.Enrichment.CacheTTL,
			Wait: cfg.Enrichment.Wait, Concurrency: cfg.Enrichment.Concurrency,
			Log: o.log, Metrics: o.metrics,
		})
	}
	x.updatable = true
	for _, r := range cfg.Receivers {
		if r.OpenSearch != nil && !*r.OpenSearch.UseEventID {
			x.updatable = false
		}
	}
	return x
}

// startReceivers builds one sink per receiver and runs each on wg until
// ctx ends, so documents can be queued before the watch starts.
func (x *exporter) startReceivers(ctx context.Context, wg *sync.WaitGroup, o options) error {
	for _, r := range x.cfg.Receivers {
		rc, err := newReceiver(ctx, x.cfg, r, o)
		if err != nil {
			return err
		}
		x.receivers[r.Name] = rc
		wg.Go(func() { rc.sink.Run(ctx) })
	}
	return nil
}

// watchEvents sets up, without starting, the reflector that feeds the
// work queue; a failed list or watch is counted and logged, and the
// reflector retries it with backoff.
func (x *exporter) watchEvents(client kubernetes.Interface) *cache.Reflector {
	x.events = newEvents(x.queue, func(ev *corev1.Event) { x.metrics.EventsReceived.WithLabelValues(ev.Type).Inc() })
	lw := eventsListWatch(client, x.cfg.Namespace, func(err error) {
		x.metrics.WatchErrors.Inc()
		x.log.Error("event watch failed; retrying", "err", err)
	})
	return cache.NewReflectorWithOptions(lw, &corev1.Event{}, x.events, cache.ReflectorOptions{Name: "events"})
}

// process starts the watch and, once it has synced, the workers; it
// returns when ctx ends (under leader election: when the lease is lost)
// and the workers have finished.
func (x *exporter) process(ctx context.Context, r *cache.Reflector) {
	var watch sync.WaitGroup
	watch.Go(func() { r.RunWithContext(ctx) })
	defer watch.Wait()
	defer x.queue.ShutDown()
	if !cache.WaitForCacheSync(ctx.Done(), x.events.HasSynced) {
		return
	}
	x.log.Info("event watch synced", "namespace", namespaceOrAll(x.cfg.Namespace))
	var workersWG sync.WaitGroup
	for range workers {
		workersWG.Go(func() {
			for x.processNext(ctx) {
			}
		})
	}
	<-ctx.Done()
	x.queue.ShutDown()
	workersWG.Wait()
}

func newReceiver(ctx context.Context, cfg *config.Config, r config.Receiver, o options) (*receiver, error) {
	oc := r.OpenSearch
	password, err := oc.ResolvePassword()
	if err != nil {
		return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
	}
	cc := osclient.Config{
		Hosts: oc.Hosts, Username: oc.Username, Password: password, DisableRetry: true,
		TLS: osclient.TLS{CAFile: oc.TLS.CAFile, CertFile: oc.TLS.CertFile, KeyFile: oc.TLS.KeyFile,
			ServerName: oc.TLS.ServerName, InsecureSkipVerify: oc.TLS.InsecureSkipVerify},
	}
	if oc.AWS != nil {
		cc.AWS = &osclient.AWS{Region: oc.AWS.Region, Service: oc.AWS.Service}
	}
	client, err := osclient.New(ctx, cc)
	if err != nil {
		return nil, fmt.Errorf("receiver %s: %w", r.Name, err)
	}
	opts := document.Options{ClusterName: cfg.ClusterName, DeDot: oc.DeDot, Index: oc.Index, UseEventID: *oc.UseEventID}
	if oc.IndexFormat != "" {
		format := oc.IndexFormat
		opts.IndexFormat = func(t time.Time) (string, error) { return config.IndexName(format, t) }
	}
	return &receiver{
		name: r.Name,
		opts: opts,
		sink: sink.New(sink.Config{
			Client: client, Where: fmt.Sprint(oc.Hosts), Username: oc.Username,
			MaxDocs: oc.Bulk.MaxDocs, MaxBytes: oc.Bulk.MaxBytes, FlushInterval: oc.Bulk.FlushInterval, MinInterval: oc.Bulk.MinInterval,
			MaxPending: oc.Queue.MaxPending, Log: o.log.With("receiver", r.Name), Metrics: o.metrics,
		}),
	}, nil
}

func (x *exporter) processNext(ctx context.Context) bool {
	key, shutdown := x.queue.Get()
	if shutdown {
		return false
	}
	defer x.queue.Done(key)
	// On shutdown the event is re-listed and re-sent on restart.
	d := x.events.take(key)
	if d.ev == nil {
		return true // a worker took its newest version already
	}
	if err := x.export(ctx, key, d); err != nil && ctx.Err() == nil {
		x.log.Error("event not exported", "event", key, "err", err)
	}
	return true
}

func (x *exporter) export(ctx context.Context, key string, d delivered) error {
	ev := d.ev
	if x.maxAge > 0 && time.Since(document.LastTimestamp(ev)) > x.maxAge {
		x.metrics.EventsSkipped.WithLabelValues("too_old").Inc()
		return nil
	}
	var obj document.Object
	if x.enrich != nil {
		var state enrich.State
		obj, state = x.enrich.Lookup(ev.InvolvedObject, func() { x.events.offer(key, d) })
		// The worker never waits on a lookup: the event comes back when
		// it lands or its wait ends. A receiver whose documents cannot be
		// updated in place (useEventID: false) waits for the answer.
		if state == enrich.Wait || (state == enrich.Overdue && !x.updatable) {
			return nil
		}
	}
	targets := x.router.receivers(ev, obj)
	if len(targets) == 0 {
		x.metrics.EventsSkipped.WithLabelValues("not_routed").Inc()
		return nil
	}
	for name := range targets {
		r := x.receivers[name]
		doc, err := document.Build(ev, obj, r.opts)
		if err != nil {
			return err
		}
		doc.Delivered = d.at
		if err := r.sink.Put(ctx, doc); err != nil {
			return err
		}
	}
	return nil
}

// serve starts /metrics, /healthz (the process is alive) and /readyz (the
// watch has synced and every receiver's last OpenSearch contact worked).
func (x *exporter) serve(o options, addr string) (*http.Server, error) {
	l := o.listener
	if l == nil {
		var err error
		if l, err = net.Listen("tcp", addr); err != nil {
			return nil, fmt.Errorf("failed to listen on %s for metrics and probes: %w", addr, err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(x.metrics.Registry, promhttp.HandlerOpts{}))
	if o.profile {
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
		mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
		mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
		mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	}
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { fmt.Fprintln(w, "ok") })
	mux.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {
		if err := x.ready(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(w, "ok")
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			x.log.Error("metrics server stopped", "err", err)
		}
	}()
	return srv, nil
}

// ready gives every reason at once: the watch and each receiver.
func (x *exporter) ready() error {
	var errs []error
	if !x.standby.Load() && (x.events == nil || !x.events.HasSynced()) {
		errs = append(errs, errors.New("event watch not synced yet"))
	}
	for name, r := range x.receivers {
		ok, at, err := r.sink.Contact()
		switch {
		case at.IsZero():
			errs = append(errs, fmt.Errorf("receiver %s: OpenSearch not contacted yet", name))
		case !ok:
			errs = append(errs, fmt.Errorf("receiver %s: %v (pending %d)", name, err, r.sink.Pending()))
		}
	}
	return errors.Join(errs...)
}

// lead runs fn only while this replica holds the Lease.
func (x *exporter) lead(ctx context.Context, client kubernetes.Interface, le config.LeaderElection, o options, fn func(context.Context)) error {
	identity := cmp.Or(o.identity, hostname())
	ns := cmp.Or(le.Namespace, o.ownNS)
	if ns == "" {
		return errors.New("leaderElection.namespace is not set and the exporter's own namespace is unknown: set leaderElection.namespace")
	}
	lock := &resourcelock.LeaseLock{
		LeaseMeta:  metav1.ObjectMeta{Namespace: ns, Name: le.Name},
		Client:     client.CoordinationV1(),
		LockConfig: resourcelock.ResourceLockConfig{Identity: identity},
	}
	leaderelection.RunOrDie(ctx, leaderelection.LeaderElectionConfig{
		Lock: lock, ReleaseOnCancel: true,
		LeaseDuration: 15 * time.Second, RenewDeadline: 10 * time.Second, RetryPeriod: 2 * time.Second,
		Callbacks: leaderelection.LeaderCallbacks{
			OnStartedLeading: func(ctx context.Context) {
				// Ready now means synced: keep the old answer until then.
				x.standby.Store(false)
				fn(ctx)
			},
			OnStoppedLeading: func() { x.log.Info("no longer the leader", "identity", identity) },
			OnNewLeader:      func(id string) { x.log.Info("leader", "identity", id) },
		},
	})
	return nil
}

func namespaceOrAll(ns string) string {
	if ns == "" {
		return "(all)"
	}
	return ns
}
