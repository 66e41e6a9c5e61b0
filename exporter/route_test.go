package exporter

import (
	"reflect"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eventcheck/eventcheck/exporter/config"
	"github.com/eventcheck/eventcheck/exporter/document"
)

func TestRoutingFollowsUpstreamSemantics(t *testing.T) {
	route := config.Route{
		Drop: []config.Rule{{Namespace: "^kube-node-lease$"}},
		Routes: []config.Route{
			{Match: []config.Rule{{Receiver: "all"}}},
			{Match: []config.Rule{{Type: "Warning", Receiver: "warnings"}}},
			{
				Match:  []config.Rule{{Labels: map[string]string{"app": "^scenario-"}}},
				Routes: []config.Route{{Match: []config.Rule{{Reason: "Failed.*", MinCount: 2, Receiver: "repeated-failures"}}}},
			},
			{
				Drop:  []config.Rule{{Kind: "Node"}},
				Match: []config.Rule{{Component: "kubelet", Receiver: "kubelet"}},
			},
		},
	}
	r := newRouter(route)
	ev := func(ns, typ, reason, kind, component string, count int32) *corev1.Event {
		return &corev1.Event{
			ObjectMeta: metav1ObjectMeta(ns),
			Type:       typ, Reason: reason, Count: count,
			InvolvedObject: corev1.ObjectReference{Kind: kind, Namespace: ns},
			Source:         corev1.EventSource{Component: component},
		}
	}
	scenario := document.Object{Labels: map[string]string{"app": "scenario-a"}}
	for _, tc := range []struct {
		name string
		ev   *corev1.Event
		obj  document.Object
		want []string
	}{
		{"dropped at the root", ev("kube-node-lease", "Normal", "x", "Lease", "", 1), document.Object{}, nil},
		{"normal", ev("test", "Normal", "Pulled", "Pod", "kubelet", 1), document.Object{}, []string{"all", "kubelet"}},
		{"warning from a scenario, repeated", ev("test", "Warning", "FailedMount", "Pod", "kubelet", 5), scenario, []string{"all", "kubelet", "repeated-failures", "warnings"}},
		{"warning from a scenario, first time", ev("test", "Warning", "FailedMount", "Pod", "kubelet", 1), scenario, []string{"all", "kubelet", "warnings"}},
		{"node event dropped in its sub-route only", ev("", "Normal", "NodeReady", "Node", "kubelet", 1), document.Object{}, []string{"all"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := r.receivers(tc.ev, tc.obj)
			var names []string
			for _, n := range []string{"all", "kubelet", "repeated-failures", "warnings"} {
				if got[n] {
					names = append(names, n)
				}
			}
			if !reflect.DeepEqual(names, tc.want) {
				t.Fatalf("receivers %v, want %v", names, tc.want)
			}
		})
	}
}

func metav1ObjectMeta(ns string) (m metav1.ObjectMeta) { m.Namespace = ns; return }
