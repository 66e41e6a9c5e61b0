package scenario

import (
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
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
