package local

import (
	"context"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/random"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers"
	"github.com/eventcheck/eventcheck/internal/pins"
	"github.com/eventcheck/eventcheck/internal/procstat"
)

func deployment(name string, mutate func(*corev1.PodSpec)) *appsv1.Deployment {
	labels := map[string]string{"app": name}
	spec := corev1.PodSpec{Containers: []corev1.Container{{Name: "app", Image: "nginx"}}}
	mutate(&spec)
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: labels}, Spec: spec},
		},
	}
}

// waitForEvent waits until an event in ns matches reason, an involved
// object name prefix and a message substring (case-insensitive: wording
// varies across Kubernetes versions, "Started container" vs "Container
// started").
func waitForEvent(t *testing.T, cs kubernetes.Interface, ns, reason, objectPrefix, message string, after time.Time) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var seen []string
	err := wait.PollUntilContextCancel(ctx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		list, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		seen = seen[:0]
		for _, e := range list.Items {
			seen = append(seen, e.Reason+" "+e.InvolvedObject.Name+": "+e.Message)
			if e.Reason == reason && strings.HasPrefix(e.InvolvedObject.Name, objectPrefix) &&
				strings.Contains(strings.ToLower(e.Message), strings.ToLower(message)) && !e.CreationTimestamp.Time.Before(after.Truncate(time.Second)) {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		t.Fatalf("no %s event for %s* containing %q; events seen:\n%s", reason, objectPrefix, message, strings.Join(seen, "\n"))
	}
}

// TestLocalClusterTellsTheWorkshopStory runs the real control plane and
// kubelets, breaks three Deployments the workshop's way, checks the real
// components report it, fixes them, and checks nothing is left behind.
func TestLocalClusterTellsTheWorkshopStory(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local cluster; skipped with -short")
	}
	ctx := context.Background()
	dir, p, stopped := upLocalCluster(t, ctx)
	cfg, err := p.RESTConfig()
	if err != nil {
		t.Fatal(err)
	}
	cs := kubernetes.NewForConfigOrDie(cfg)
	checkNodes(t, ctx, cs)

	const ns = "test"
	start := breakTheWorkshopWay(t, ctx, cs, ns)
	waitForEvent(t, cs, ns, "FailedMount", "scenario-a", `secret "misspelt-secret-name" not found`, start)
	waitForEvent(t, cs, ns, "Failed", "scenario-b", `Failed to pull image "wrong-image"`, start)
	waitForEvent(t, cs, ns, "BackOff", "scenario-b", "wrong-image", start)
	waitForEvent(t, cs, ns, "FailedScheduling", "scenario-c", "0/3 nodes are available: 3 Insufficient cpu", start)
	t.Logf("three failures reported %s after apply", time.Since(start).Round(time.Millisecond))
	checkSchedulingEventsWrittenThroughEventsV1(t, ctx, cs, ns)
	checkRestartKeepsEverything(t, ctx, p, cs, ns)

	// The fix runs on the restarted API server.
	fixTheWorkshopWay(t, ctx, cs, ns)
	checkDownLeavesNothingBehind(t, ctx, p, dir, stopped)
}

// upLocalCluster starts a cluster in a fresh directory. The cleanup stops
// it only if the test failed before stopping it itself (*stopped): Down is
// one of the things under test.
func upLocalCluster(t *testing.T, ctx context.Context) (dir string, p providers.Provider, stopped *bool) {
	t.Helper()
	dir, err := os.MkdirTemp("", "ec-local-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	p, err = New(providers.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Up(ctx); err != nil {
		t.Fatal(err)
	}
	stopped = new(bool)
	t.Cleanup(func() {
		if !*stopped {
			_ = p.Down(ctx)
		}
	})
	return dir, p, stopped
}

// checkNodes checks the cluster has the three nodes the workshop's
// FailedScheduling message counts, running the pinned kubelet.
func checkNodes(t *testing.T, ctx context.Context, cs kubernetes.Interface) {
	t.Helper()
	nodes, err := cs.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 3 {
		t.Fatalf("got %d nodes, want 3", len(nodes.Items))
	}
	if v := nodes.Items[0].Status.NodeInfo.KubeletVersion; v != pins.KubernetesVersion {
		t.Errorf("kubelet version %q, want %s", v, pins.KubernetesVersion)
	}
}

// breakTheWorkshopWay applies the workshop's three broken Deployments in a
// new namespace ns (a misspelt secret, a wrong image, an unschedulable CPU
// request) and the secret scenario-a should have named. It returns when
// they were applied: the failure events are looked for from then on.
func breakTheWorkshopWay(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns string) time.Time {
	t.Helper()
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	broken := []*appsv1.Deployment{
		deployment("scenario-a", func(s *corev1.PodSpec) {
			s.Volumes = []corev1.Volume{{Name: "secret-volume", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "misspelt-secret-name"}}}}
			s.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "secret-volume", MountPath: "/etc/secret", ReadOnly: true}}
		}),
		deployment("scenario-b", func(s *corev1.PodSpec) { s.Containers[0].Image = "wrong-image" }),
		deployment("scenario-c", func(s *corev1.PodSpec) {
			s.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("999999m")}
		}),
	}
	start := time.Now()
	for _, d := range broken {
		if _, err := cs.AppsV1().Deployments(ns).Create(ctx, d, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := cs.CoreV1().Secrets(ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "some-secret"}, StringData: map[string]string{".secret-file": "value"}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return start
}

// checkSchedulingEventsWrittenThroughEventsV1 checks what an exporter reads
// is what a real cluster gives it. As on a real cluster, the scheduler
// writes through events.k8s.io/v1: read through core/v1 its events have
// eventTime and a reporting controller, and no lastTimestamp (the case an
// exporter that copies lastTimestamp as it is gets wrong).
func checkSchedulingEventsWrittenThroughEventsV1(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns string) {
	t.Helper()
	events, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	scheduling := 0
	for _, e := range events.Items {
		if e.Reason != "FailedScheduling" {
			continue
		}
		scheduling++
		if e.EventTime.IsZero() || e.ReportingController == "" || !e.LastTimestamp.IsZero() {
			t.Errorf("FailedScheduling event %s: eventTime %v, reportingController %q, lastTimestamp %v; want it written through events.k8s.io/v1",
				e.Name, e.EventTime, e.ReportingController, e.LastTimestamp)
		}
	}
	if scheduling == 0 {
		t.Error("no FailedScheduling event listed")
	}
}

// fixTheWorkshopWay patches each broken Deployment as the workshop's
// solution does, then waits for the components to report the recovery
// and for every Deployment to become Available.
func fixTheWorkshopWay(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns string) {
	t.Helper()
	fixes := map[string]string{
		"scenario-a": `[{"op":"replace","path":"/spec/template/spec/volumes/0/secret/secretName","value":"some-secret"}]`,
		"scenario-b": `[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx"}]`,
		"scenario-c": `[{"op":"replace","path":"/spec/template/spec/containers/0/resources/requests/cpu","value":"100m"}]`,
	}
	fixed := time.Now()
	for name, patch := range fixes {
		if _, err := cs.AppsV1().Deployments(ns).Patch(ctx, name, types.JSONPatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	for name := range fixes {
		waitForEvent(t, cs, ns, "Scheduled", name, "Successfully assigned", fixed)
		waitForEvent(t, cs, ns, "Pulled", name, "nginx", fixed)
		waitForEvent(t, cs, ns, "Started", name, "started", fixed)
	}
	waitAvailable(t, ctx, cs, ns, slices.Collect(maps.Keys(fixes)))
}

// waitAvailable waits until each named Deployment is Available with its
// one replica updated; the 90s bound is shared by all of them, as the
// fixes are applied together.
func waitAvailable(t *testing.T, ctx context.Context, cs kubernetes.Interface, ns string, names []string) {
	t.Helper()
	waitCtx, cancel := context.WithTimeout(ctx, 90*time.Second)
	defer cancel()
	for _, name := range names {
		err := wait.PollUntilContextCancel(waitCtx, 250*time.Millisecond, true, func(ctx context.Context) (bool, error) {
			d, err := cs.AppsV1().Deployments(ns).Get(ctx, name, metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			for _, c := range d.Status.Conditions {
				if c.Type == appsv1.DeploymentAvailable && c.Status == corev1.ConditionTrue && d.Status.UpdatedReplicas == 1 && d.Status.UnavailableReplicas == 0 {
					return true, nil
				}
			}
			return false, nil
		})
		if err != nil {
			t.Fatalf("deployment %s not Available after the fix: %v", name, err)
		}
	}
}

// checkDownLeavesNothingBehind stops the cluster and checks no process and
// no listening port it had before stopping is left, nor its ready marker
// in dir. It sets *stopped so the cleanup does not stop it again.
func checkDownLeavesNothingBehind(t *testing.T, ctx context.Context, p providers.Provider, dir string, stopped *bool) {
	t.Helper()
	pid, alive := p.(*provider).pid()
	if !alive {
		t.Fatal("supervisor not running before Down")
	}
	pids := procstat.Descendants(pid)
	ports := procstat.ListeningPorts(pids)
	if len(pids) < 7 || len(ports) < 5 {
		t.Fatalf("expected supervisor, 3 control-plane and 3 node processes with their ports; got pids %v ports %v", pids, ports)
	}
	if err := p.Down(ctx); err != nil {
		t.Fatal(err)
	}
	*stopped = true
	for _, pid := range pids {
		if procstat.Alive(pid) {
			t.Errorf("process %d still alive after Down", pid)
		}
	}
	for port := range ports {
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Errorf("port %d still bound after Down: %v", port, err)
			continue
		}
		l.Close()
	}
	if _, err := os.Stat(filepath.Join(dir, readyFile)); err == nil {
		t.Error("ready marker left after Down")
	}
}

func TestBadInputFailsClearlyAndFast(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	takenPort := taken.Addr().(*net.TCPAddr).Port
	file := filepath.Join(t.TempDir(), "a-file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		opts providers.Options
		want []string
	}{
		{"missing binary", providers.Options{Binary: "/nonexistent/localcluster"}, []string{"/nonexistent/localcluster", "make localcluster"}},
		{"unwritable directory", providers.Options{Dir: filepath.Join(file, "cluster")}, []string{file, "--cluster-dir"}},
		{"port already taken", providers.Options{APIServerPort: takenPort}, []string{strconv.Itoa(takenPort), "already in use", "--apiserver-port"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.opts.Dir == "" {
				tc.opts.Dir = filepath.Join(t.TempDir(), "c")
			}
			// A missing binary is refused by New, before anything starts.
			start := time.Now()
			p, err := New(tc.opts)
			if err == nil {
				if err = p.Up(context.Background()); err == nil {
					_ = p.Down(context.Background())
					t.Fatal("Up succeeded")
				}
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error should contain %q:\n%s", w, err)
				}
			}
			if d := time.Since(start); d > time.Minute {
				t.Errorf("took %s to fail", d)
			}
		})
	}
}

func TestUnbuildableSourceNamesGoBuildOutput(t *testing.T) {
	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module broken\n\ngo 1.26\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(src, "cmd", "localcluster"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "cmd", "localcluster", "main.go"), []byte("package main\nfunc main() { undefined() }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := Build(context.Background(), src, filepath.Join(src, "out"), nil)
	if err == nil || !strings.Contains(err.Error(), "failed to build localcluster") || !strings.Contains(err.Error(), "undefined") {
		t.Fatalf("error should carry go build's message: %v", err)
	}
}

// Loading an archive makes its tags pullable on the simulated nodes.
func TestLoadImageArchiveExtendsTheOfflineRegistry(t *testing.T) {
	dir := t.TempDir()
	p, err := New(providers.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	archive := filepath.Join(dir, "img.tar")
	writeImageArchive(t, archive, "example.com/events-exporter:dev")
	if err := p.LoadImageArchive(context.Background(), archive); err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(filepath.Join(dir, imagesFile))
	if err != nil || !strings.Contains(string(data), "example.com/events-exporter:dev") {
		t.Fatalf("images file = %q (%v)", data, err)
	}
	if err := p.LoadImageArchive(context.Background(), filepath.Join(dir, "missing.tar")); err == nil || !strings.Contains(err.Error(), "missing.tar") {
		t.Fatalf("missing archive error = %v", err)
	}
}

func writeImageArchive(t *testing.T, path, tag string) {
	t.Helper()
	img, err := random.Image(256, 1)
	if err != nil {
		t.Fatal(err)
	}
	ref, err := name.NewTag(tag)
	if err != nil {
		t.Fatal(err)
	}
	if err := tarball.WriteToFile(path, ref, img); err != nil {
		t.Fatal(err)
	}
}

// checkRestartKeepsEverything restarts the API server alone: a new process
// serves the same objects (same uids, same events), as after a real
// control plane's restart, not an empty cluster.
func checkRestartKeepsEverything(t *testing.T, ctx context.Context, p providers.Provider, cs kubernetes.Interface, ns string) {
	t.Helper()
	before, err := cs.AppsV1().Deployments(ns).Get(ctx, "scenario-a", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	events, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := p.RestartAPIServer(ctx); err != nil {
		t.Fatal(err)
	}
	t.Logf("API server restarted in %s", time.Since(start).Round(time.Millisecond))
	after, err := cs.AppsV1().Deployments(ns).Get(ctx, "scenario-a", metav1.GetOptions{})
	if err != nil || after.UID != before.UID {
		t.Fatalf("after the restart: %v, uid %v (was %s): the restart lost the cluster's data", err, after.GetUID(), before.UID)
	}
	again, err := cs.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil || len(again.Items) < len(events.Items) {
		t.Fatalf("after the restart: %v, %d events (were %d)", err, len(again.Items), len(events.Items))
	}
}
