package check

import (
	"cmp"
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eventcheck/eventcheck/internal/scenario"
)

// pod watches a workload's pods for the READY and STATUS a page shows. It
// holds when the workload has a pod; Seen is every state its pods showed,
// in the order first seen, so that the state wanted can be judged drifted
// (a pod, in another state) rather than failed (no pod at all).
func pod(ctx context.Context, r *Runner, phase string, pc scenario.PodCheck) Result {
	applied := r.appliedAt(phase)
	var seen []string
	var listErr error
	held, err := until(ctx, r.deadline(phase, pc.Timeout), func(ctx context.Context) (bool, error) {
		pods, err := r.env.Kube.CoreV1().Pods(pc.Namespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			if ctx.Err() == nil {
				listErr = err
			}
			return false, nil
		}
		listErr = nil
		found := false
		for i := range pods.Items {
			p := &pods.Items[i]
			if !ofWorkload(p.Name, pc.NamePrefix) {
				continue
			}
			ready, status := PodState(p)
			if s := ready + " " + status; !slices.Contains(seen, s) {
				seen = append(seen, s)
			}
			found = found || ((pc.Ready == "" || pc.Ready == ready) && (pc.Status == "" || pc.Status == status))
		}
		return found, nil
	})
	want := strings.TrimSpace(pc.Ready + " " + pc.Status)
	switch {
	case err == nil:
		return Result{Passed: true, Elapsed: held.Sub(applied), Seen: seen, Detail: fmt.Sprintf("a %s pod showed %s", pc.NamePrefix, want)}
	case len(seen) > 0:
		return Result{Passed: true, Seen: seen, Detail: fmt.Sprintf("%s pods showed %s, never %s", pc.NamePrefix, strings.Join(seen, ", "), want)}
	case listErr != nil:
		return Result{Detail: fmt.Sprintf("no %s pod in namespace %s could be listed: %v", pc.NamePrefix, pc.Namespace, listErr)}
	}
	return Result{Detail: fmt.Sprintf("no pod of %s in namespace %s after %s", pc.NamePrefix, pc.Namespace, pc.Timeout)}
}

// generated is what a ReplicaSet's pod adds to its workload's name: the
// pod-template hash and a random suffix (or, for a StatefulSet's or a
// Job's pods, an ordinal or a suffix alone).
var generated = regexp.MustCompile(`^(?:[a-z0-9]{6,10}-[a-z0-9]{5}|[a-z0-9]{5}|[0-9]+)$`)

// ofWorkload says whether a pod's name is its workload's plus what the
// controllers generate: scenario-a-6d988b8d84-x7k2p is scenario-a's, and
// scenario-a-two-6d988b8d84-x7k2p is not.
func ofWorkload(name, workload string) bool {
	rest, ok := strings.CutPrefix(name, workload+"-")
	return ok && generated.MatchString(rest)
}

// PodState is what kubectl get pods prints in READY and STATUS for a pod:
// ready containers of all, and the reason of the first thing that keeps
// it from running (an init container, then the last container with a
// waiting or terminated reason), else its phase.
func PodState(p *corev1.Pod) (ready, status string) {
	status = string(p.Status.Phase)
	if p.Status.Reason != "" {
		status = p.Status.Reason
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Reason == corev1.PodReasonSchedulingGated {
			status = corev1.PodReasonSchedulingGated
		}
	}
	initializing := false
	for i, c := range p.Status.InitContainerStatuses {
		switch {
		case c.State.Terminated != nil && c.State.Terminated.ExitCode == 0:
			continue
		case c.State.Terminated != nil:
			status = "Init:" + cmp.Or(c.State.Terminated.Reason, fmt.Sprintf("ExitCode:%d", c.State.Terminated.ExitCode))
		case c.State.Waiting != nil && c.State.Waiting.Reason != "" && c.State.Waiting.Reason != "PodInitializing":
			status = "Init:" + c.State.Waiting.Reason
		default:
			status = fmt.Sprintf("Init:%d/%d", i, len(p.Spec.InitContainers))
		}
		initializing = true
		break
	}
	n := 0
	running := false
	for i := len(p.Status.ContainerStatuses) - 1; i >= 0; i-- {
		c := p.Status.ContainerStatuses[i]
		if c.Ready && c.State.Running != nil {
			n++
			running = true
		}
		if initializing {
			continue
		}
		switch {
		case c.State.Waiting != nil && c.State.Waiting.Reason != "":
			status = c.State.Waiting.Reason
		case c.State.Terminated != nil:
			status = cmp.Or(c.State.Terminated.Reason, fmt.Sprintf("ExitCode:%d", c.State.Terminated.ExitCode))
		}
	}
	if status == "Completed" && running {
		status = string(corev1.PodRunning)
	}
	if p.DeletionTimestamp != nil {
		status = "Terminating"
	}
	return fmt.Sprintf("%d/%d", n, len(p.Spec.Containers)), status
}
