package exporter

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type keys []string

func (k *keys) Add(key string) { *k = append(*k, key) }

func event(name, rv string) *corev1.Event {
	return &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: "test", Name: name, ResourceVersion: rv,
		ManagedFields: []metav1.ManagedFieldsEntry{{Manager: "kubelet"}}}}
}

// A relist re-exports only what changed; a worker gets the newest version
// once; a version given back after a newer one came is dropped.
func TestEventsStoreKeepsOnlyWhatIsNotTakenYet(t *testing.T) {
	var queued keys
	s := newEvents(&queued, func(*corev1.Event) {})
	if err := s.Replace([]any{event("a", "1"), event("b", "1")}, "1"); err != nil {
		t.Fatal(err)
	}
	if !s.HasSynced() || len(queued) != 2 {
		t.Fatalf("after the first list: synced %t, queued %v", s.HasSynced(), queued)
	}
	a := s.take("test/a")
	if a.ev == nil || a.ev.ManagedFields != nil || a.at.IsZero() {
		t.Fatalf("took %+v: want event a without managedFields, with when it was delivered", a)
	}
	if s.take("test/a").ev != nil {
		t.Error("the same version taken twice")
	}

	// A relist: a unchanged, b at a new version, c gone from b's side.
	queued = nil
	_ = s.Update(event("b", "2"))
	if err := s.Replace([]any{event("a", "1"), event("b", "2")}, "2"); err != nil {
		t.Fatal(err)
	}
	if len(queued) != 1 || queued[0] != "test/b" {
		t.Errorf("relist queued %v, want test/b once (a unchanged, b's new version seen already)", queued)
	}
	if b := s.take("test/b").ev; b == nil || b.ResourceVersion != "2" {
		t.Errorf("took %+v, want b at version 2", b)
	}

	// A worker gives back version 1 of a after version 2 arrived: dropped.
	_ = s.Update(event("a", "2"))
	s.offer("test/a", a)
	if got := s.take("test/a").ev; got == nil || got.ResourceVersion != "2" {
		t.Errorf("took %+v after an old version was given back, want version 2", got)
	}
	// Given back while still the newest: taken again.
	cur := event("a", "3")
	_ = s.Update(cur)
	taken := s.take("test/a")
	s.offer("test/a", taken)
	if got := s.take("test/a"); got.ev != cur || got.at != taken.at {
		t.Errorf("took %+v, want the version given back, with when it was first delivered", got)
	}

	// A list without b forgets its version: b seen again is new.
	_ = s.Replace([]any{event("a", "3")}, "3")
	queued = nil
	_ = s.Add(event("b", "2"))
	if len(queued) != 1 {
		t.Errorf("b after it left the list: queued %v, want it once", queued)
	}
}
