package providers

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"
)

// A crash-looping exporter is explained by its state, its exit code and
// what it last wrote; pods of other releases are not listed.
func TestPodStatesSayWhyAnExporterIsNotReady(t *testing.T) {
	pod := func(name, release string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app.kubernetes.io/instance": release}},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, ContainerStatuses: []corev1.ContainerStatus{{
				Name:                 "exporter",
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 2, Reason: "Error"}},
			}}}}
	}
	kube := fake.NewSimpleClientset(pod("ours-1", "ours"), pod("theirs-1", "theirs"))
	got := PodStates(context.Background(), kube, "ns", "app.kubernetes.io/instance=ours")
	for _, want := range []string{"pod ours-1: Running", "exporter waiting: CrashLoopBackOff", "exporter not ready", "exporter last exited 2 (Error)", "its last lines: fake logs"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
	if strings.Contains(got, "theirs") {
		t.Errorf("another release's pod is listed: %q", got)
	}
	if got := PodStates(context.Background(), kube, "empty", ""); got != "no pods" {
		t.Errorf("no pods: %q", got)
	}
}
