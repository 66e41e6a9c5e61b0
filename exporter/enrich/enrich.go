// Package enrich learns what an event's involved object carries (labels,
// annotations, owners, whether it still exists) without ever making the
// export wait on the API server's rate limit:
//
//   - one shared cache, with negative entries for objects that are gone;
//   - at most one lookup queued or in flight per object;
//   - a bounded number of lookups at once, all through the client's own
//     QPS limiter;
//   - when many lookups wait for one resource in one namespace, a single
//     metadata LIST answers all of them;
//   - a lookup that outlasts a short bound does not hold the event: the
//     caller exports it as it is and is told when the answer lands, so the
//     document is updated under the same ID.
package enrich

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/util/workqueue"

	"github.com/eventcheck/eventcheck/exporter/document"
	"github.com/eventcheck/eventcheck/exporter/metrics"
)

// Config sizes the enricher. Zero values take the defaults below.
type Config struct {
	Metadata metadata.Interface
	Mapper   meta.RESTMapper
	// CacheSize and TTL bound the cache; objects that are gone are kept
	// for at most NegativeTTL, so one created again is soon seen.
	CacheSize   int
	TTL         time.Duration
	NegativeTTL time.Duration
	// Wait is how long an export waits for a lookup before it goes
	// without and is updated later.
	Wait time.Duration
	// Concurrency is the most lookups in flight; Timeout bounds each.
	Concurrency int
	Timeout     time.Duration
	// ListThreshold: this many lookups waiting for one resource in one
	// namespace are answered by one LIST instead of as many GETs.
	ListThreshold int
	Log           *slog.Logger
	Metrics       *metrics.Metrics
}

// Defaults.
const (
	DefaultWait          = 150 * time.Millisecond
	DefaultConcurrency   = 16
	DefaultTimeout       = 5 * time.Second
	DefaultListThreshold = 8
	maxNegativeTTL       = 30 * time.Second
	// errorTTL: after a failed lookup, the object counts as unknown for
	// this long before it is asked about again.
	errorTTL = 5 * time.Second
	// unmappedTTL: a kind discovery does not know is not asked about
	// again for this long (every miss costs a full discovery).
	unmappedTTL = 5 * time.Minute
)

// Enricher answers lookups; it is safe for concurrent use.
type Enricher struct {
	cfg   Config
	cache *cache.LRUExpireCache
	lists singleflight.Group
	queue workqueue.TypedInterface[objectKey]

	mu       sync.Mutex
	flights  map[objectKey]*flight
	waiting  map[resourceKey]map[objectKey]corev1.ObjectReference
	unmapped map[schema.GroupKind]time.Time
	warned   map[schema.GroupKind]bool
}

// New returns an enricher.
func New(cfg Config) *Enricher {
	if cfg.CacheSize <= 0 {
		cfg.CacheSize = 1024
	}
	if cfg.TTL <= 0 {
		cfg.TTL = 30 * time.Second
	}
	if cfg.NegativeTTL <= 0 {
		cfg.NegativeTTL = min(cfg.TTL, maxNegativeTTL)
	}
	if cfg.Wait <= 0 {
		cfg.Wait = DefaultWait
	}
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.ListThreshold <= 0 {
		cfg.ListThreshold = DefaultListThreshold
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Metrics == nil {
		cfg.Metrics = metrics.New()
	}
	return &Enricher{
		cfg: cfg, cache: cache.NewLRUExpireCache(cfg.CacheSize), queue: workqueue.NewTyped[objectKey](),
		flights: map[objectKey]*flight{},
		waiting: map[resourceKey]map[objectKey]corev1.ObjectReference{}, unmapped: map[schema.GroupKind]time.Time{},
		warned: map[schema.GroupKind]bool{},
	}
}

type objectKey struct {
	apiVersion, kind, namespace, name, uid string
}

func keyOf(ref corev1.ObjectReference) objectKey {
	return objectKey{ref.APIVersion, ref.Kind, ref.Namespace, ref.Name, string(ref.UID)}
}

type resourceKey struct {
	resource  schema.GroupVersionResource
	namespace string
}

// result is a lookup's answer; final answers are cached, the others
// (the API refused or timed out) are kept only briefly.
type result struct {
	obj   document.Object
	final bool
}

// State says what the caller of Lookup may do with the event now.
type State int

const (
	// Ready: the object is known (or cannot be learned); export now.
	Ready State = iota
	// Wait: the lookup has just started; notify is called when it lands
	// or when the wait ends, whichever is first. Do not export yet.
	Wait
	// Overdue: the lookup outlasted the wait. Export without enrichment
	// now; notify is called again when it lands, to update the document.
	Overdue
)

// flight is one object's lookup, queued or in progress, and the events
// waiting on it.
type flight struct {
	ref     corev1.ObjectReference
	rk      resourceKey
	gk      schema.GroupKind
	overdue bool
	waiters []func()
}

// Lookup never blocks on the API: it answers from the cache, or queues
// (or joins) the object's one lookup and says whether to wait for it or
// to go without. notify is called from another goroutine. Lookups are
// made while Run runs.
func (e *Enricher) Lookup(ref corev1.ObjectReference, notify func()) (document.Object, State) {
	key := keyOf(ref)
	if ref.Kind == "" || ref.Name == "" {
		return document.Object{}, Ready
	}
	var mapping *meta.RESTMapping
	for {
		if v, ok := e.cache.Get(key); ok {
			e.cfg.Metrics.Lookups.WithLabelValues("cache").Inc()
			return v.(document.Object), Ready
		}
		e.mu.Lock()
		if f := e.flights[key]; f != nil || mapping != nil {
			defer e.mu.Unlock()
			return e.join(key, ref, f, mapping, notify)
		}
		e.mu.Unlock()
		// Resolved outside the lock: the first use of a kind asks the
		// API's discovery. Then look again: the object may have landed.
		var ok bool
		if mapping, ok = e.mapping(ref); !ok {
			return document.Object{}, Ready
		}
	}
}

// join adds notify to the object's flight, starting one (from mapping)
// if there is none. Called with e.mu held.
func (e *Enricher) join(key objectKey, ref corev1.ObjectReference, f *flight, mapping *meta.RESTMapping, notify func()) (document.Object, State) {
	if f == nil {
		f = &flight{ref: ref, gk: mapping.GroupVersionKind.GroupKind(), rk: resourceKey{resource: mapping.Resource}}
		if mapping.Scope.Name() == meta.RESTScopeNameNamespace {
			f.rk.namespace = ref.Namespace
		}
		e.flights[key] = f
		// Counted as waiting from now: a backlog for one resource and
		// namespace is what makes a LIST worth it.
		if e.waiting[f.rk] == nil {
			e.waiting[f.rk] = map[objectKey]corev1.ObjectReference{}
		}
		e.waiting[f.rk][key] = ref
		e.queue.Add(key)
		time.AfterFunc(e.cfg.Wait, func() { e.overdue(key, f) })
	}
	f.waiters = append(f.waiters, notify)
	if f.overdue {
		e.cfg.Metrics.EnrichmentDeferred.Inc()
		return document.Object{}, Overdue
	}
	return document.Object{}, Wait
}

// Run makes the queued lookups, Concurrency at a time (all through the
// client's QPS limit), until ctx ends.
func (e *Enricher) Run(ctx context.Context) {
	// Discovery is read on the first mapping, which the first event's
	// worker would otherwise wait for (0.5-1 s on a fresh client, the
	// whole tail of the first events' latency): read it now, while the
	// watch syncs.
	_, _ = e.cfg.Mapper.RESTMapping(schema.GroupKind{Kind: "Pod"}, "v1")
	var wg sync.WaitGroup
	for range e.cfg.Concurrency {
		wg.Go(func() {
			for e.next(ctx) {
			}
		})
	}
	<-ctx.Done()
	e.queue.ShutDown()
	wg.Wait()
}

func (e *Enricher) next(ctx context.Context) bool {
	key, shutdown := e.queue.Get()
	if shutdown {
		return false
	}
	defer e.queue.Done(key)
	e.mu.Lock()
	f := e.flights[key]
	e.mu.Unlock()
	if f != nil {
		e.land(ctx, key, f)
	}
	return true
}

// land makes the lookup and tells every waiter.
func (e *Enricher) land(ctx context.Context, key objectKey, f *flight) {
	res := e.fetch(ctx, key, f)
	if _, cached := e.cache.Get(key); !res.final && !cached {
		// Briefly remembered as unknown, so the waiters' second look
		// finds an answer instead of starting the lookup again.
		e.cache.Add(key, document.Object{}, errorTTL)
	}
	e.mu.Lock()
	delete(e.flights, key)
	delete(e.waiting[f.rk], key)
	if len(e.waiting[f.rk]) == 0 {
		delete(e.waiting, f.rk)
	}
	overdue, waiters := f.overdue, f.waiters
	f.waiters = nil
	e.mu.Unlock()
	if overdue && !res.final {
		return // already exported without; nothing to add
	}
	for _, notify := range waiters {
		notify()
	}
}

// overdue lets the events waiting on a slow lookup go without it.
func (e *Enricher) overdue(key objectKey, f *flight) {
	e.mu.Lock()
	if e.flights[key] != f {
		e.mu.Unlock()
		return // landed in time
	}
	f.overdue = true
	waiters := slices.Clone(f.waiters)
	e.mu.Unlock()
	for _, notify := range waiters {
		notify()
	}
}

// fetch answers one object, from a LIST shared with the others waiting
// for its resource and namespace when there are enough of them, else with
// a GET.
func (e *Enricher) fetch(ctx context.Context, key objectKey, f *flight) result {
	// Another lookup's LIST may have answered this one while it queued.
	if v, ok := e.cache.Get(key); ok {
		return result{obj: v.(document.Object), final: true}
	}
	ctx, cancel := context.WithTimeout(ctx, e.cfg.Timeout)
	defer cancel()
	if e.waitingFor(f.rk) >= e.cfg.ListThreshold {
		// One LIST per resource and namespace at a time; those who
		// queued behind it find their answers in the cache.
		_, _, _ = e.lists.Do(f.rk.resource.String()+"\x00"+f.rk.namespace, func() (any, error) {
			e.list(ctx, f.rk, f.gk)
			return nil, nil
		})
		if v, ok := e.cache.Get(key); ok {
			return result{obj: v.(document.Object), final: true}
		}
	}
	e.cfg.Metrics.Lookups.WithLabelValues("get").Inc()
	m, err := e.resource(f.rk).Get(ctx, f.ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return e.store(key, gone())
	case apierrors.IsForbidden(err):
		// Not asked again for a while: each refusal would spend a
		// request of the rate limit that the other lookups need.
		e.warnOnce(f.gk, "cannot read involved objects (check the exporter's RBAC); exporting without enrichment", err)
		e.cache.Add(key, document.Object{}, e.cfg.NegativeTTL)
		return result{final: false}
	case err != nil:
		e.warnOnce(f.gk, "involved object lookup failed; exporting without enrichment", err)
		return result{final: false}
	}
	return e.store(key, objectFor(f.ref, m))
}

func (e *Enricher) resource(rk resourceKey) metadata.ResourceInterface {
	if rk.namespace != "" {
		return e.cfg.Metadata.Resource(rk.resource).Namespace(rk.namespace)
	}
	return e.cfg.Metadata.Resource(rk.resource)
}

// list answers, from one paginated metadata LIST, every lookup waiting
// for rk when it starts. An object absent from the list is gone: the
// event about it was observed before the list began.
func (e *Enricher) list(ctx context.Context, rk resourceKey, gk schema.GroupKind) {
	e.mu.Lock()
	snapshot := make(map[objectKey]corev1.ObjectReference, len(e.waiting[rk]))
	for k, ref := range e.waiting[rk] {
		snapshot[k] = ref
	}
	e.mu.Unlock()
	e.cfg.Metrics.Lookups.WithLabelValues("list").Inc()
	res := e.resource(rk)
	byName := map[string]*metav1.PartialObjectMetadata{}
	opts := metav1.ListOptions{Limit: 500}
	for {
		l, err := res.List(ctx, opts)
		if err != nil {
			e.warnOnce(gk, "cannot list involved objects (check the exporter's RBAC); looking them up one by one", err)
			return // the waiting lookups fall back to GETs
		}
		for i := range l.Items {
			byName[l.Items[i].Name] = &l.Items[i]
		}
		if opts.Continue = l.Continue; opts.Continue == "" {
			break
		}
	}
	for k, ref := range snapshot {
		if m, ok := byName[ref.Name]; ok {
			e.store(k, objectFor(ref, m))
		} else {
			e.store(k, gone())
		}
	}
}

func objectFor(ref corev1.ObjectReference, m *metav1.PartialObjectMetadata) document.Object {
	if ref.UID != "" && m.UID != ref.UID {
		// Same name, new object: the one the event is about is gone.
		return gone()
	}
	return document.Object{Labels: m.Labels, Annotations: m.Annotations, OwnerReferences: m.OwnerReferences}
}

func gone() document.Object { return document.Object{Deleted: true} }

func (e *Enricher) store(k objectKey, obj document.Object) result {
	ttl := e.cfg.TTL
	if obj.Deleted {
		ttl = e.cfg.NegativeTTL
	}
	e.cache.Add(k, obj, ttl)
	return result{obj: obj, final: true}
}

// mapping resolves the reference's kind, remembering kinds discovery does
// not know so that events about them do not each cost a discovery.
func (e *Enricher) mapping(ref corev1.ObjectReference) (*meta.RESTMapping, bool) {
	gv, err := schema.ParseGroupVersion(ref.APIVersion)
	if err != nil {
		return nil, false
	}
	gk := schema.GroupKind{Group: gv.Group, Kind: ref.Kind}
	e.mu.Lock()
	until, unknown := e.unmapped[gk]
	e.mu.Unlock()
	if unknown && time.Now().Before(until) {
		return nil, false
	}
	m, err := e.cfg.Mapper.RESTMapping(gk, gv.Version)
	if err != nil {
		e.mu.Lock()
		e.unmapped[gk] = time.Now().Add(unmappedTTL)
		e.mu.Unlock()
		e.warnOnce(gk, "unknown kind; events about it are exported without enrichment", err)
		return nil, false
	}
	return m, true
}

func (e *Enricher) waitingFor(rk resourceKey) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return len(e.waiting[rk])
}

func (e *Enricher) warnOnce(gk schema.GroupKind, msg string, err error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if !e.warned[gk] {
		e.warned[gk] = true
		e.cfg.Log.Warn(msg, "kind", gk.String(), "err", err)
	}
}
