package check

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/eventcheck/eventcheck/internal/scenario"
)

func ev(uid, typ, reason, kind, name, msg string) corev1.Event {
	return corev1.Event{ObjectMeta: metav1.ObjectMeta{UID: types.UID(uid)}, Type: typ, Reason: reason, Message: msg,
		InvolvedObject: corev1.ObjectReference{Kind: kind, Name: name}}
}

func TestAccountNamesMissingAndDuplicatedEvents(t *testing.T) {
	events := []corev1.Event{
		ev("a", "Warning", "FailedMount", "Pod", "scenario-a-1", `MountVolume.SetUp failed for volume "secret-volume" : secret "misspelt-secret-name" not found`),
		ev("b", "Normal", "ScalingReplicaSet", "Deployment", "scenario-a", "Scaled up replica set scenario-a-5d8f to 1"),
		ev("c", "Normal", "Scheduled", "Pod", "scenario-a-1", "Successfully assigned"),
	}
	counts := map[string]int64{"a": 1, "c": 2}

	a := account("namespace test", events, counts, true)
	if a.complete() || a.Events != 3 || a.Documented != 2 || len(a.Missing) != 1 || len(a.Duplicated) != 1 {
		t.Fatalf("accounting %+v", a)
	}
	msg := a.failure(time.Minute, true)
	for _, want := range []string{
		`1 of 3 events in the API (namespace test) have no document after 1m0s: Normal ScalingReplicaSet Deployment/scenario-a: "Scaled up replica set`,
		"1 events have more than one document though documents are keyed by uid: Normal Scheduled Pod/scenario-a-1",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("failure %q lacks %q", msg, want)
		}
	}

	// Without uid keys, an update may be a second document: not a failure.
	if a := account("namespace test", events, map[string]int64{"a": 1, "b": 1, "c": 2}, false); !a.complete() {
		t.Fatalf("not keyed by uid: %+v", a)
	}
}

func TestFirstFewBoundsTheList(t *testing.T) {
	var items []string
	for range 25 {
		items = append(items, "x")
	}
	if got := firstFew(items); strings.Count(got, "x") != listed || !strings.HasSuffix(got, "and 15 more") {
		t.Fatalf("firstFew = %q", got)
	}
}

// The scope is the scenario's namespace, the namespaces checks.yaml adds,
// and the events about cluster-scoped objects of the kinds it names.
func TestScopeEventsWidensAsChecksSay(t *testing.T) {
	at := func(ns, uid, kind, objNS string) *corev1.Event {
		e := ev(uid, "Normal", "R", kind, "x", "m")
		e.Namespace, e.Name, e.InvolvedObject.Namespace = ns, uid, objNS
		return &e
	}
	kube := fake.NewClientset(
		at("test", "in-test", "Pod", "test"),
		at("kube-system", "in-kube-system", "Pod", "kube-system"),
		at("default", "about-node", "Node", ""),
		at("default", "about-namespace", "Namespace", ""),
		at("other", "elsewhere", "Pod", "other"),
	)
	r := &Runner{s: &scenario.Scenario{Checks: scenario.Checks{Namespace: "test"}}, env: Env{Kube: kube}}
	uids := func() []string {
		_, events, err := r.scopeEvents(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		var out []string
		for _, e := range events {
			out = append(out, string(e.UID))
		}
		slices.Sort(out)
		return out
	}
	if got := uids(); !slices.Equal(got, []string{"in-test"}) {
		t.Fatalf("default scope: %v", got)
	}
	r.s.Checks.Completeness = scenario.Completeness{Namespaces: []string{"kube-system"}, ClusterScoped: []string{"Node"}}
	if got := uids(); !slices.Equal(got, []string{"about-node", "in-kube-system", "in-test"}) {
		t.Fatalf("widened scope: %v", got)
	}
}
