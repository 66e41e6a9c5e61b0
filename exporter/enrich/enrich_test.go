package enrich

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	metafake "k8s.io/client-go/metadata/fake"
	clienttesting "k8s.io/client-go/testing"

	"github.com/eventcheck/eventcheck/exporter/document"
	"github.com/eventcheck/eventcheck/exporter/metrics"
)

func pod(name, uid string, labels map[string]string) *metav1.PartialObjectMetadata {
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "Pod"},
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, UID: types.UID(uid), Labels: labels},
	}
}

func ref(name, uid string) corev1.ObjectReference {
	return corev1.ObjectReference{APIVersion: "v1", Kind: "Pod", Namespace: "ns", Name: name, UID: types.UID(uid)}
}

type fixture struct {
	client *metafake.FakeMetadataClient
	e      *Enricher
	gets   atomic.Int64
	lists  atomic.Int64
	// gate, when set, holds every API call until it is closed.
	gate chan struct{}
}

func newFixture(t *testing.T, cfg Config, objs ...runtime.Object) *fixture {
	t.Helper()
	scheme := metafake.NewTestScheme()
	if err := metav1.AddMetaToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	f := &fixture{client: metafake.NewSimpleMetadataClient(scheme, objs...)}
	count := func(n *atomic.Int64) clienttesting.ReactionFunc {
		return func(clienttesting.Action) (bool, runtime.Object, error) {
			n.Add(1)
			if f.gate != nil {
				<-f.gate
			}
			return false, nil, nil
		}
	}
	f.client.PrependReactor("get", "pods", count(&f.gets))
	f.client.PrependReactor("list", "pods", count(&f.lists))
	mapper := meta.NewDefaultRESTMapper(nil)
	mapper.Add(schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, meta.RESTScopeNamespace)
	cfg.Metadata, cfg.Mapper, cfg.Metrics = f.client, mapper, metrics.New()
	f.e = New(cfg)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { f.e.Run(ctx); close(done) }()
	t.Cleanup(func() {
		if f.gate != nil {
			select {
			case <-f.gate:
			default:
				close(f.gate)
			}
		}
		cancel()
		<-done
	})
	return f
}

// Objects without a UID are still told apart: each reference gets its own
// object's labels (a cache keyed by uid/resourceVersion gives them all
// the first one's).
func TestObjectsWithoutUIDGetTheirOwnLabels(t *testing.T) {
	f := newFixture(t, Config{},
		pod("a", "uid-a", map[string]string{"app": "a"}),
		pod("b", "uid-b", map[string]string{"app": "b"}))
	for range 2 { // the second round comes from the cache
		for _, name := range []string{"a", "b"} {
			obj := lookupNow(t, f.e, ref(name, ""))
			if obj.Labels["app"] != name || obj.Deleted {
				t.Fatalf("%s: %+v; want its own labels", name, obj)
			}
		}
	}
	if got := f.gets.Load(); got != 2 {
		t.Errorf("%d GETs for two objects looked up twice; want 2", got)
	}
	// Same name, another UID: the object the event is about is gone.
	if obj := lookupNow(t, f.e, ref("a", "old-uid")); !obj.Deleted || obj.Labels != nil {
		t.Errorf("a replaced object: %+v; want deleted without the new one's labels", obj)
	}
}

func TestMissingObjectsAreCachedAsGone(t *testing.T) {
	f := newFixture(t, Config{})
	for range 3 {
		if obj := lookupNow(t, f.e, ref("nope", "u")); !obj.Deleted {
			t.Fatalf("missing object: %+v; want deleted", obj)
		}
	}
	if got := f.gets.Load(); got != 1 {
		t.Errorf("%d GETs for one missing object asked three times; want 1", got)
	}
}

func TestOneLookupInFlightPerObject(t *testing.T) {
	f := newFixture(t, Config{Wait: time.Minute}, pod("a", "uid-a", map[string]string{"app": "a"}))
	f.gate = make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			if obj := lookupNow(t, f.e, ref("a", "uid-a")); obj.Labels["app"] != "a" {
				t.Errorf("got %+v", obj)
			}
		})
	}
	waitFor(t, func() bool { return f.gets.Load() == 1 })
	close(f.gate)
	wg.Wait()
	if got := f.gets.Load(); got != 1 {
		t.Errorf("%d GETs for 50 concurrent lookups of one object; want 1", got)
	}
}

// Many lookups waiting for one resource in one namespace are answered by
// one LIST, present and missing objects alike.
func TestManyWaitingLookupsShareOneList(t *testing.T) {
	objs := []runtime.Object{pod("p-0", "uid-0", map[string]string{"n": "0"}), pod("p-1", "uid-1", map[string]string{"n": "1"})}
	f := newFixture(t, Config{Concurrency: 1, ListThreshold: 5, Wait: time.Minute}, objs...)
	f.gate = make(chan struct{})
	const n = 100
	results := make([]chan bool, n)
	for i := range n {
		results[i] = make(chan bool, 1)
		go func() {
			obj := lookupNow(t, f.e, ref(fmt.Sprintf("p-%d", i), fmt.Sprintf("uid-%d", i)))
			if i < 2 {
				results[i] <- obj.Labels["n"] == fmt.Sprint(i) && !obj.Deleted
			} else {
				results[i] <- obj.Deleted
			}
		}()
	}
	// The first lookup holds the only slot; the rest queue behind it.
	waitFor(t, func() bool {
		return f.gets.Load()+f.lists.Load() == 1 && f.e.waitingFor(resourceKey{schema.GroupVersionResource{Version: "v1", Resource: "pods"}, "ns"}) == n
	})
	close(f.gate)
	for i := range n {
		if !<-results[i] {
			t.Errorf("p-%d: wrong answer", i)
		}
	}
	if calls := f.gets.Load() + f.lists.Load(); calls > 3 {
		t.Errorf("%d GETs and %d LISTs for %d lookups; want a LIST to answer nearly all", f.gets.Load(), f.lists.Load(), n)
	}
	if f.lists.Load() == 0 {
		t.Error("no LIST")
	}
}

// A lookup slower than the wait does not hold the event: it is told to go
// without, and told again when the answer is there to update the document.
// One that lands in time is told once, with the answer.
func TestSlowLookupIsOverdueThenLands(t *testing.T) {
	f := newFixture(t, Config{Wait: 20 * time.Millisecond}, pod("a", "uid-a", map[string]string{"app": "a"}))
	f.gate = make(chan struct{})
	var calls atomic.Int64
	notified := make(chan struct{}, 4)
	notify := func() { calls.Add(1); notified <- struct{}{} }
	if obj, state := f.e.Lookup(ref("a", "uid-a"), notify); state != Wait || obj.Labels != nil {
		t.Fatalf("first look: %+v %v; want Wait with nothing", obj, state)
	}
	<-notified // the wait ended
	if obj, state := f.e.Lookup(ref("a", "uid-a"), notify); state != Overdue || obj.Labels != nil {
		t.Fatalf("after the wait: %+v %v; want Overdue with nothing", obj, state)
	}
	close(f.gate)
	<-notified
	<-notified // both looks hear of the landing
	if obj, state := f.e.Lookup(ref("a", "uid-a"), func() { t.Error("notified for a cached answer") }); state != Ready || obj.Labels["app"] != "a" {
		t.Fatalf("after landing: %+v %v", obj, state)
	}

	f.gate = nil
	var fast atomic.Int64
	g := newFixture(t, Config{Wait: time.Minute}, pod("b", "uid-b", nil))
	done := make(chan struct{})
	if _, state := g.e.Lookup(ref("b", "uid-b"), func() { fast.Add(1); close(done) }); state != Wait {
		t.Fatalf("state %v; want Wait", state)
	}
	<-done
	if _, state := g.e.Lookup(ref("b", "uid-b"), nil); state != Ready || fast.Load() != 1 {
		t.Fatalf("a lookup in time: state %v, notified %d times; want Ready, once", state, fast.Load())
	}
}

func TestForbiddenIsNotAskedAgainAtOnce(t *testing.T) {
	f := newFixture(t, Config{})
	f.client.PrependReactor("get", "pods", func(a clienttesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "pods"}, "a", errors.New("RBAC says no"))
	})
	for range 3 {
		obj := lookupNow(t, f.e, ref("a", "uid-a"))
		if obj.Deleted || obj.Labels != nil {
			t.Fatalf("forbidden: %+v; want an empty object", obj)
		}
	}
	acts := 0
	for _, a := range f.client.Actions() {
		if a.GetVerb() == "get" {
			acts++
		}
	}
	if acts != 1 {
		t.Errorf("%d GETs after a refusal asked three times; want 1", acts)
	}
}

// lookupNow looks ref up and, if the answer is not there yet, waits for
// the notification and looks again, as the exporter's worker does.
func lookupNow(t *testing.T, e *Enricher, r corev1.ObjectReference) document.Object {
	t.Helper()
	for range 3 {
		notified := make(chan struct{}, 2)
		obj, state := e.Lookup(r, func() { notified <- struct{}{} })
		if state == Ready {
			return obj
		}
		select {
		case <-notified:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s: never notified", r.Name)
		}
	}
	t.Fatalf("%s: no answer after three notifications", r.Name)
	return document.Object{}
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	if err := wait.PollUntilContextTimeout(context.Background(), time.Millisecond, 10*time.Second, true, func(context.Context) (bool, error) {
		return cond(), nil
	}); err != nil {
		t.Fatal("condition not reached in 10s")
	}
}
