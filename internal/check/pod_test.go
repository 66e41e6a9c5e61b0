package check

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/eventcheck/eventcheck/internal/scenario"
)

func TestPodStateIsWhatKubectlPrints(t *testing.T) {
	waiting := func(reason string) corev1.ContainerStatus {
		return corev1.ContainerStatus{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
	}
	running := corev1.ContainerStatus{Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
	now := metav1.Now()
	tests := []struct {
		name          string
		pod           corev1.Pod
		ready, status string
	}{
		{"unscheduled", corev1.Pod{Spec: corev1.PodSpec{Containers: make([]corev1.Container, 1)}, Status: corev1.PodStatus{Phase: corev1.PodPending}}, "0/1", "Pending"},
		{"volume not there", corev1.Pod{Spec: corev1.PodSpec{Containers: make([]corev1.Container, 1)},
			Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{waiting("ContainerCreating")}}}, "0/1", "ContainerCreating"},
		{"image not there", corev1.Pod{Spec: corev1.PodSpec{Containers: make([]corev1.Container, 2)},
			Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{running, waiting("ErrImagePull")}}}, "1/2", "ErrImagePull"},
		{"running", corev1.Pod{Spec: corev1.PodSpec{Containers: make([]corev1.Container, 1)},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running}}}, "1/1", "Running"},
		{"init container waits", corev1.Pod{Spec: corev1.PodSpec{InitContainers: make([]corev1.Container, 2), Containers: make([]corev1.Container, 1)},
			Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{
				{State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0}}}, waiting("PodInitializing")},
				ContainerStatuses: []corev1.ContainerStatus{waiting("PodInitializing")}}}, "0/1", "Init:1/2"},
		{"init container crashes", corev1.Pod{Spec: corev1.PodSpec{InitContainers: make([]corev1.Container, 1), Containers: make([]corev1.Container, 1)},
			Status: corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{waiting("CrashLoopBackOff")}}}, "0/1", "Init:CrashLoopBackOff"},
		{"deleted", corev1.Pod{ObjectMeta: metav1.ObjectMeta{DeletionTimestamp: &now}, Spec: corev1.PodSpec{Containers: make([]corev1.Container, 1)},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{running}}}, "1/1", "Terminating"},
		{"evicted", corev1.Pod{Spec: corev1.PodSpec{Containers: make([]corev1.Container, 1)}, Status: corev1.PodStatus{Phase: corev1.PodFailed, Reason: "Evicted"}}, "0/1", "Evicted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ready, status := PodState(&tt.pod)
			if ready != tt.ready || status != tt.status {
				t.Errorf("PodState = %s %s, want %s %s", ready, status, tt.ready, tt.status)
			}
		})
	}
}

func TestOfWorkloadTellsAWorkloadsPodsFromAnothers(t *testing.T) {
	for name, want := range map[string]bool{
		"scenario-a-6d988b8d84-x7k2p":     true,
		"scenario-a-x7k2p":                true, // a DaemonSet's or a Job's
		"scenario-a-0":                    true, // a StatefulSet's
		"scenario-a-two-6d988b8d84-x7k2p": false,
		"scenario-ab-6d988b8d84-x7k2p":    false,
		"scenario-a":                      false,
	} {
		if got := ofWorkload(name, "scenario-a"); got != want {
			t.Errorf("ofWorkload(%s) = %v, want %v", name, got, want)
		}
	}
}

// A pod step holds as soon as the state shows; it holds, with what its
// pods showed, when they showed others only (the page drifted); it fails
// when the workload has no pod at all.
func TestPodStepTellsDriftFromAbsence(t *testing.T) {
	waitingPod := func(name string, reason string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "test", Name: name}, Spec: corev1.PodSpec{Containers: make([]corev1.Container, 1)},
			Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{
				{State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}}}}
	}
	kube := fake.NewClientset(waitingPod("scenario-b-7c9f4b5d6d-m4n8t", "ImagePullBackOff"))
	r := &Runner{env: Env{Kube: kube}, applied: map[string]time.Time{"base": time.Now()}}
	ctx := context.Background()
	check := func(prefix, status string) Result {
		return pod(ctx, r, "base", scenario.PodCheck{Name: "p", Namespace: "test", NamePrefix: prefix, Ready: "0/1", Status: status, Timeout: time.Second})
	}
	if res := check("scenario-b", "ImagePullBackOff"); !res.Passed || !slices.Equal(res.Seen, []string{"0/1 ImagePullBackOff"}) {
		t.Errorf("the state shown: %+v", res)
	}
	if res := check("scenario-b", "ErrImagePull"); !res.Passed || !strings.Contains(res.Detail, "never 0/1 ErrImagePull") {
		t.Errorf("another state: %+v", res)
	}
	if res := check("scenario-c", "Pending"); res.Passed || !strings.Contains(res.Detail, "no pod of scenario-c in namespace test") {
		t.Errorf("no pod: %+v", res)
	}
}

type watching struct{ step }

const watchKind scenario.Kind = "test-watch"

func (watching) SettleTime() time.Duration { return time.Second }
func (watching) CheckKind() scenario.Kind  { return watchKind }

// A watcher ends soon after its stage's other steps, not at its own
// deadline: what it watches for shows while they wait or not at all.
func TestAWatcherEndsWithItsStage(t *testing.T) {
	r := &Runner{progress: func(Result, bool) {}, applied: map[string]time.Time{"base": time.Now()}}
	withKind(t, func(context.Context, *Runner, string, step) Result { return Result{Passed: true} })
	kinds[watchKind] = one(func(ctx context.Context, _ *Runner, _ string, _ watching) Result {
		<-ctx.Done()
		return Result{Detail: "stopped"}
	})
	t.Cleanup(func() { delete(kinds, watchKind) })
	start := time.Now()
	res := r.Execute(context.Background(), scenario.Stage{Phase: "base", Steps: []scenario.Check{
		watching{step{"watcher", time.Minute}}, step{"quick", time.Minute}}})
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("the stage took %s: the watcher waited past its stage", took)
	}
	if len(res) != 2 || res[0].Detail != "stopped" || !res[1].Passed {
		t.Fatalf("results %+v", res)
	}
}
