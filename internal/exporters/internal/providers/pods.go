package providers

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/eventcheck/eventcheck/exporter/redact"
	"github.com/eventcheck/eventcheck/internal/logtail"
)

// PodStates says why the pods an exporter runs in are not ready: each
// one's phase, its containers' waiting reasons and last exit, and for a
// container that exited the last lines it wrote (URL credentials masked),
// which is where an exporter says what it refused.
func PodStates(ctx context.Context, kube kubernetes.Interface, ns, selector string) string {
	ctx = context.WithoutCancel(ctx)
	list, err := kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return fmt.Sprintf("listing the pods in %s: %v", ns, err)
	}
	var b bytes.Buffer
	for _, p := range list.Items {
		fmt.Fprintf(&b, "pod %s: %s", p.Name, p.Status.Phase)
		for _, c := range p.Status.ContainerStatuses {
			if w := c.State.Waiting; w != nil {
				fmt.Fprintf(&b, ", %s waiting: %s %s", c.Name, w.Reason, w.Message)
			}
			if !c.Ready {
				fmt.Fprintf(&b, ", %s not ready", c.Name)
			}
			if term := c.LastTerminationState.Terminated; term != nil {
				fmt.Fprintf(&b, ", %s last exited %d (%s)", c.Name, term.ExitCode, term.Reason)
				data, err := kube.CoreV1().Pods(ns).GetLogs(p.Name, &corev1.PodLogOptions{Container: c.Name, Previous: true}).DoRaw(ctx)
				if tail := strings.TrimSpace(logtail.Lines(string(data), 3)); err == nil && tail != "" {
					fmt.Fprintf(&b, ", its last lines: %s", redact.URL(tail))
				}
			}
		}
		b.WriteString("; ")
	}
	if b.Len() == 0 {
		return "no pods"
	}
	return strings.TrimSuffix(b.String(), "; ")
}
