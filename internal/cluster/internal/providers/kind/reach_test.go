package kind

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/kubernetes/fake"
)

// The cluster is up only when a probe on every node got through: a node
// whose first probe fails (its Service not routed yet) is probed again,
// and the probes are removed after. A node never routed ends the wait in
// the named error, naming the node and what its probe said.
func TestUpOnlyWhenPodsOnEveryNodeReachTheAPIServer(t *testing.T) {
	node := func(name string) *corev1.Node {
		return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name},
			Status: corev1.NodeStatus{Images: []corev1.ContainerImage{{Names: []string{"registry.k8s.io/kube-proxy:v1.37.2"}}}}}
	}
	const refused = "Get \"https://kubernetes.default.svc:443/api\": tls: failed to verify certificate: x509: cannot validate certificate"
	for _, c := range []struct {
		name    string
		fails   map[string]int // failed attempts per node before one gets through
		wantErr string
	}{
		{name: "routed after a failure", fails: map[string]int{"worker": 1}},
		{name: "never routed", fails: map[string]int{"worker": 1000}, wantErr: "node worker: retrying, last failed attempt"},
	} {
		t.Run(c.name, func(t *testing.T) {
			kube := fake.NewClientset(node("control-plane"), node("worker"))
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			var mu sync.Mutex
			var lines []string
			log := func(msg string, args ...any) { mu.Lock(); defer mu.Unlock(); lines = append(lines, msg) }
			go kubelet(ctx, t, kube, c.fails, refused)
			err := waitPodsReachAPIServer(ctx, kube, 4*time.Second, log)
			if c.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				if len(lines) != 2 {
					t.Errorf("logged %q; want a line per node", lines)
				}
			} else if !errors.Is(err, ErrPodsCannotReachAPIServer) || !strings.Contains(err.Error(), c.wantErr) || !strings.Contains(err.Error(), "x509") {
				t.Fatalf("err = %v; want %v naming %q and what the probe said", err, ErrPodsCannotReachAPIServer, c.wantErr)
			}
			pods, _ := kube.CoreV1().Pods(reachNamespace).List(context.Background(), metav1.ListOptions{})
			if len(pods.Items) != 0 {
				t.Errorf("%d probe pods left behind", len(pods.Items))
			}
		})
	}
}

// kubelet plays the nodes: each probe pod fails while its node has
// failures left, then succeeds.
func kubelet(ctx context.Context, t *testing.T, kube *fake.Clientset, fails map[string]int, said string) {
	w, err := kube.CoreV1().Pods(reachNamespace).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Error(err)
		return
	}
	defer w.Stop()
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*corev1.Pod)
		if ev.Type != watch.Added || !ok {
			continue
		}
		if strings.Join(p.Spec.Containers[0].Command, " ") != "/probe/kubectl get --raw /api" || p.Spec.NodeName == "" || p.Spec.ActiveDeadlineSeconds == nil {
			t.Errorf("probe pod %s: command %q on node %q", p.Name, p.Spec.Containers[0].Command, p.Spec.NodeName)
		}
		p.Status.Phase = corev1.PodSucceeded
		if fails[p.Spec.NodeName] > 0 {
			fails[p.Spec.NodeName]--
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{{State: corev1.ContainerState{
				Terminated: &corev1.ContainerStateTerminated{ExitCode: 1, Message: said}}}}
		}
		_, _ = kube.CoreV1().Pods(reachNamespace).UpdateStatus(ctx, p, metav1.UpdateOptions{})
	}
}
