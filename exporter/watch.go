package exporter

import (
	"context"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// events is the reflector's store, and the worker's: where an informer
// would keep every event of the cluster for its whole TTL, it keeps of
// each only its resourceVersion (what a relist needs to tell a changed
// event from one already handled), and the event itself only until a
// worker has taken it. Memory grows with the backlog, not with the
// cluster's events, and the watch hands events over with no hop between
// goroutines but the work queue's.
type events struct {
	mu      sync.Mutex
	version map[string]string    // key → newest resourceVersion seen
	latest  map[string]delivered // key → newest version not yet taken
	synced  bool                 // the first list is in
	queue   interface{ Add(string) }
	// seen counts an event received (by type).
	seen func(*corev1.Event)
}

// delivered is a version of an event and when the watch delivered it
// (the start of the exporter's own latency).
type delivered struct {
	ev *corev1.Event
	at time.Time
}

func newEvents(queue interface{ Add(string) }, seen func(*corev1.Event)) *events {
	return &events{version: map[string]string{}, latest: map[string]delivered{}, queue: queue, seen: seen}
}

// Add and Update take a new version of an event, without its
// managedFields: no document writes them, and the reflector hands a
// store's objects over as decoded (its transformer reaches only its own
// watch-list store).
func (s *events) Add(obj any) error {
	ev, ok := obj.(*corev1.Event)
	if !ok {
		return nil
	}
	ev.ManagedFields = nil
	key, err := cache.MetaNamespaceKeyFunc(ev)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	if s.version[key] == ev.ResourceVersion {
		s.mu.Unlock()
		return nil // a relist's copy of a version already taken
	}
	s.version[key] = ev.ResourceVersion
	s.latest[key] = delivered{ev: ev, at: time.Now()}
	s.mu.Unlock()
	s.seen(ev)
	s.queue.Add(key)
	return nil
}

func (s *events) Update(obj any) error { return s.Add(obj) }

// Delete forgets an expired event's version. A version not yet taken is
// still exported: the event happened.
func (s *events) Delete(obj any) error {
	key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj)
	if err != nil {
		return nil
	}
	s.mu.Lock()
	delete(s.version, key)
	s.mu.Unlock()
	return nil
}

// Replace takes a (re)list: every event whose version is new is taken,
// and the versions of events no longer listed are forgotten.
func (s *events) Replace(list []any, _ string) error {
	listed := make(map[string]bool, len(list))
	for _, obj := range list {
		if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
			listed[key] = true
		}
		_ = s.Add(obj)
	}
	s.mu.Lock()
	for key := range s.version {
		if !listed[key] {
			delete(s.version, key)
		}
	}
	s.synced = true
	s.mu.Unlock()
	return nil
}

func (s *events) Resync() error { return nil }

// HasSynced reports whether the first list is in.
func (s *events) HasSynced() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.synced
}

// take hands the newest version of key to a worker, once (none: ev nil).
func (s *events) take(key string) delivered {
	s.mu.Lock()
	defer s.mu.Unlock()
	d := s.latest[key]
	delete(s.latest, key)
	return d
}

// offer gives back a version a worker took but did not finish (it waits
// for its object's lookup), unless a newer one came meanwhile.
func (s *events) offer(key string, d delivered) {
	s.mu.Lock()
	if v, ok := s.version[key]; ok && v != d.ev.ResourceVersion {
		s.mu.Unlock()
		return // a newer version is on its way
	}
	if _, newer := s.latest[key]; !newer {
		s.latest[key] = d
	}
	s.mu.Unlock()
	s.queue.Add(key)
}

// eventsListWatch lists and watches core/v1 Events in namespace (all
// when ""), counting failed calls: the reflector retries them with
// backoff.
func eventsListWatch(client kubernetes.Interface, namespace string, failed func(error)) *cache.ListWatch {
	return &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			l, err := client.CoreV1().Events(namespace).List(ctx, o)
			if err != nil && ctx.Err() == nil {
				failed(err)
			}
			return l, err
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			w, err := client.CoreV1().Events(namespace).Watch(ctx, o)
			if err != nil && ctx.Err() == nil {
				failed(err)
			}
			return w, err
		},
	}
}
