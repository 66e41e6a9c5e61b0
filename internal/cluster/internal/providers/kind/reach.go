package kind

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
)

// ErrPodsCannotReachAPIServer says a pod on some node could not reach the
// API server through the kubernetes Service: the cluster is not up for a
// workload such as the exporter, whatever its nodes' Ready says.
var ErrPodsCannotReachAPIServer = errors.New("pods cannot reach the API server through the kubernetes Service")

// reachNamespace and reachLabel are where the probes run and how they are
// found.
const (
	reachNamespace = "kube-system"
	reachLabel     = "eventcheck.dev/probe"
)

// kubectlOnNode is where kind's node images (kind's own and ours) keep
// kubectl; the probe runs it, mounted from the node.
const kubectlOnNode = "/usr/bin/kubectl"

// waitPodsReachAPIServer returns when a pod on every node has done an
// HTTPS GET of https://kubernetes.default.svc/api with its service-account
// token and CA: CoreDNS answers, and kube-proxy routes the Service on that
// node. kind declares the cluster up when the control-plane node is Ready;
// a pod started then (the exporter) can reach 10.96.0.1 before its node
// routes it, the connection leaves the node and its List fails for a
// minute (x509: the wrong server answered).
func waitPodsReachAPIServer(ctx context.Context, kube kubernetes.Interface, bound time.Duration, log logf) error {
	start := time.Now()
	var probes []*reachProbe
	// Probes are removed however the wait ends.
	defer func() {
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		for _, p := range probes {
			if p.pod != "" {
				_ = kube.CoreV1().Pods(reachNamespace).Delete(ctx, p.pod, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
			}
		}
	}()
	err := wait.PollUntilContextTimeout(ctx, time.Second, bound, true, func(ctx context.Context) (bool, error) {
		if probes == nil {
			nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
			if err != nil || len(nodes.Items) == 0 {
				return false, nil
			}
			for _, n := range nodes.Items {
				probes = append(probes, &reachProbe{node: n.Name, state: "no probe pod yet"})
			}
		}
		for _, p := range probes {
			if p.done {
				continue
			}
			if p.pod == "" {
				image, err := reachImage(ctx, kube, p.node)
				if err != nil {
					p.state = err.Error()
					continue
				}
				p.attempts++
				pod := reachPod(p.node, p.attempts, image)
				if _, err := kube.CoreV1().Pods(reachNamespace).Create(ctx, pod, metav1.CreateOptions{}); err != nil {
					p.state = "creating the probe pod: " + err.Error()
					continue
				}
				p.pod = pod.Name
				continue
			}
			pod, err := kube.CoreV1().Pods(reachNamespace).Get(ctx, p.pod, metav1.GetOptions{})
			if apierrors.IsNotFound(err) {
				p.pod = ""
				continue
			}
			if err != nil {
				p.state = err.Error()
				continue
			}
			switch pod.Status.Phase {
			case corev1.PodSucceeded:
				p.done = true
				_ = kube.CoreV1().Pods(reachNamespace).Delete(ctx, p.pod, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
				p.pod = ""
				log("pods on node reach the API server through the kubernetes Service", "node", p.node,
					"attempts", p.attempts, "elapsed", time.Since(start).Round(100*time.Millisecond), "last failure", p.failed)
			case corev1.PodFailed:
				p.failed = fmt.Sprintf("attempt %d: %s", p.attempts, terminated(pod))
				p.state = "retrying"
				_ = kube.CoreV1().Pods(reachNamespace).Delete(ctx, p.pod, metav1.DeleteOptions{GracePeriodSeconds: new(int64)})
				p.pod = ""
			default:
				p.state = fmt.Sprintf("attempt %d: probe pod %s", p.attempts, pod.Status.Phase)
			}
		}
		return len(probes) > 0 && !slices.ContainsFunc(probes, func(p *reachProbe) bool { return !p.done }), nil
	})
	if err == nil {
		return nil
	}
	var why []string
	for _, p := range probes {
		if !p.done {
			w := "node " + p.node + ": " + p.state
			if p.failed != "" {
				w += ", last failed " + p.failed
			}
			why = append(why, w)
		}
	}
	if len(probes) == 0 {
		why = append(why, "no node listed")
	}
	return fmt.Errorf("%w within %s (%v): %s; kube-proxy's and CoreDNS's logs are among the cluster logs (--artifacts)",
		ErrPodsCannotReachAPIServer, bound, err, strings.Join(why, "; "))
}

// reachProbe is the state of one node's probe.
type reachProbe struct {
	node     string
	attempts int
	pod      string // the probe pod of this attempt, if created
	state    string // where the current attempt is
	failed   string // what the last failed attempt said
	done     bool
}

// logf is slog's Info, for the line each node's probe ends with.
type logf func(msg string, args ...any)

// reachImage is an image the node holds that can run kubectl: kube-proxy's
// (it runs on every node; machines here reach no registry). kind's own
// kubectl is static; ours links Debian's libc, which that image has.
func reachImage(ctx context.Context, kube kubernetes.Interface, node string) (string, error) {
	n, err := kube.CoreV1().Nodes().Get(ctx, node, metav1.GetOptions{})
	if err != nil {
		return "", err
	}
	for _, img := range n.Status.Images {
		for _, name := range img.Names {
			if strings.Contains(name, "/kube-proxy:") {
				return name, nil
			}
		}
	}
	return "", fmt.Errorf("node %s reports no kube-proxy image yet (its kubelet lists its images once it runs)", node)
}

// reachPod is attempt n of the probe on node. KUBERNETES_SERVICE_HOST names
// the Service by its DNS name, so kubectl's in-cluster configuration (the
// pod's token and CA) goes through CoreDNS and the Service's ClusterIP.
func reachPod(node string, n int, image string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("eventcheck-probe-%s-%d", node, n), Namespace: reachNamespace,
			Labels: map[string]string{reachLabel: "reach-api-server"}},
		Spec: corev1.PodSpec{
			NodeName:      node,
			RestartPolicy: corev1.RestartPolicyNever,
			// Bounds an attempt whose packets go nowhere (kubectl's dial
			// timeout is 30 s). It counts from the kubelet's start of the
			// pod: on a busy control plane the sandbox alone took 15 s.
			ActiveDeadlineSeconds: new(int64(60)),
			Tolerations:           []corev1.Toleration{{Operator: corev1.TolerationOpExists}},
			Containers: []corev1.Container{{
				Name:            "reach",
				Image:           image,
				ImagePullPolicy: corev1.PullNever,
				// No other flag: any would make kubectl drop its in-cluster
				// configuration (and try localhost:8080).
				Command:                  []string{"/probe/kubectl", "get", "--raw", "/api"},
				Env:                      []corev1.EnvVar{{Name: "KUBERNETES_SERVICE_HOST", Value: "kubernetes.default.svc"}, {Name: "KUBERNETES_SERVICE_PORT", Value: "443"}},
				VolumeMounts:             []corev1.VolumeMount{{Name: "kubectl", MountPath: "/probe/kubectl", ReadOnly: true}},
				TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			}},
			Volumes: []corev1.Volume{{Name: "kubectl", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{
				Path: kubectlOnNode, Type: new(corev1.HostPathFile)}}}},
		},
	}
}

// terminated is what the probe's container said when it failed.
func terminated(pod *corev1.Pod) string {
	for _, s := range pod.Status.ContainerStatuses {
		if t := s.State.Terminated; t != nil {
			return fmt.Sprintf("exit %d: %s", t.ExitCode, strings.TrimSpace(t.Message))
		}
	}
	return "failed: " + pod.Status.Message
}
