package exporter_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/eventcheck/eventcheck/exporter"
	"github.com/eventcheck/eventcheck/exporter/config"
	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/exporterenv"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// The environment every test here shares: a local cluster, a local
// OpenSearch that can be stopped and started at the same address with its
// data, and the exporter's ServiceAccount credentials.
var env struct {
	cluster  cluster.Provider
	admin    *rest.Config
	kube     kubernetes.Interface
	sa       *rest.Config
	saFile   string
	server   opensearch.Provider
	osURL    string
	search   *eventindex.Searcher
	exporter string // binary
	tmp      string
}

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	os.Exit(setup(m))
}

func setup(m *testing.M) int {
	ctx := context.Background()
	tmp, err := os.MkdirTemp("", "ec-exporter-")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	// OpenSearch runs as its own user when we are root: it must reach its
	// data directory inside this one.
	if err := os.Chmod(tmp, 0o755); err != nil {
		log.Fatal(err)
	}
	env.tmp = tmp

	c, err := cluster.New(cluster.Local, cluster.WithDir(filepath.Join(tmp, "cluster")))
	if err != nil {
		log.Fatal(err)
	}
	env.cluster = c
	port, err := freePort()
	if err != nil {
		log.Fatal(err)
	}
	env.server, err = opensearch.New(opensearch.Local, opensearch.WithDir(filepath.Join(tmp, "opensearch")), opensearch.WithPort(port))
	if err != nil {
		log.Fatal(err)
	}
	// Cluster, OpenSearch and the exporter binary come up in parallel.
	var wg sync.WaitGroup
	var clusterErr, osErr, buildErr error
	var inst *opensearch.Instance
	wg.Go(func() { clusterErr = c.Up(ctx) })
	wg.Go(func() { inst, osErr = env.server.Start(ctx) })
	wg.Go(func() {
		env.exporter = filepath.Join(tmp, "events-exporter")
		out, err := exec.Command("go", "build", "-o", env.exporter, "../cmd/events-exporter").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("%v: %s", err, out)
		}
	})
	wg.Wait()
	defer c.Down(ctx)
	defer env.server.Stop(ctx)
	if err := errors.Join(clusterErr, osErr, buildErr); err != nil {
		log.Print(err)
		return 1
	}
	env.osURL = inst.Endpoint.URL
	env.search = &eventindex.Searcher{Client: inst.Client, Index: eventindex.Pattern}
	if err := eventindex.ApplyTemplate(ctx, inst.Client); err != nil {
		log.Print(err)
		return 1
	}
	if env.admin, err = c.RESTConfig(); err != nil {
		log.Print(err)
		return 1
	}
	env.admin.QPS, env.admin.Burst = 500, 1000
	env.kube = kubernetes.NewForConfigOrDie(env.admin)
	if err := exporterenv.ApplyRBAC(ctx, env.admin); err != nil {
		log.Print(err)
		return 1
	}
	if env.sa, err = exporterenv.ServiceAccountConfig(ctx, env.admin, time.Hour); err != nil {
		log.Print(err)
		return 1
	}
	if env.saFile, err = exporterenv.WriteKubeconfig(env.sa, tmp); err != nil {
		log.Print(err)
		return 1
	}
	return m.Run()
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func needEnv(t *testing.T) {
	t.Helper()
	if env.kube == nil {
		t.Skip("needs the local cluster and OpenSearch; skipped with -short")
	}
}

func exporterConfig(t testing.TB, hosts ...string) *config.Config {
	t.Helper()
	if len(hosts) == 0 {
		hosts = []string{env.osURL}
	}
	cfg, err := config.Parse([]byte(fmt.Sprintf(`
clusterName: eventcheck-test
route:
  routes:
    - match:
        - receiver: os
receivers:
  - name: os
    opensearch:
      hosts: [%q]
      index: eks-kubernetes-events
      useEventID: true
`, strings.Join(hosts, `","`))), os.LookupEnv)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// runExporter runs the exporter in this process as the ServiceAccount and
// returns the address of its probes.
func runExporter(t testing.TB, cfg *config.Config) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- exporter.Run(ctx, cfg, env.sa, exporter.WithListener(l), exporter.WithLogger(testLogger(t)))
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("exporter: %v", err)
		}
	})
	return "http://" + l.Addr().String()
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func waitReady(t testing.TB, addr string, want bool) string {
	t.Helper()
	return waitReadyBody(t, addr, want, "")
}

// waitReadyBody waits until /readyz is (not) ready and its body contains
// substr.
func waitReadyBody(t testing.TB, addr string, want bool, substr string) string {
	t.Helper()
	var body string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		resp, err := http.Get(addr + "/readyz")
		if err != nil {
			return false, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		body = string(b)
		return (resp.StatusCode == http.StatusOK) == want && strings.Contains(body, substr), nil
	})
	if err != nil {
		t.Fatalf("/readyz never became %v with %q; last answer: %s", want, substr, body)
	}
	return body
}

func namespace(t testing.TB, name string) string {
	t.Helper()
	_, err := env.kube.CoreV1().Namespaces().Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return name
}

// benchNamespace is namespace for a benchmark, its events deleted when
// the benchmark ends: an exporter lists every event the cluster holds when
// it starts, and a benchmark's figures (its memory most) must not depend
// on which benchmarks ran before it.
func benchNamespace(b *testing.B, name string) {
	b.Helper()
	namespace(b, name)
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		events := env.kube.CoreV1().Events(name)
		if err := events.DeleteCollection(ctx, metav1.DeleteOptions{}, metav1.ListOptions{}); err != nil {
			b.Errorf("deleting the events of namespace %s: %v", name, err)
			return
		}
		if err := env.kube.CoreV1().Namespaces().Delete(ctx, name, metav1.DeleteOptions{}); err != nil {
			b.Errorf("deleting namespace %s: %v", name, err)
		}
	})
}

func createEvent(ctx context.Context, ns string, i int) (*corev1.Event, error) {
	return postEvent(ctx, ns, "burst", "BurstTest", i, corev1.ObjectReference{Name: fmt.Sprintf("pod-%d", i%10)})
}

// postEvent creates the Normal event prefix-i with message "event i",
// about a Pod of ns named (and with the uid) in obj.
func postEvent(ctx context.Context, ns, prefix, reason string, i int, obj corev1.ObjectReference) (*corev1.Event, error) {
	now := metav1.Now()
	obj.Kind, obj.APIVersion, obj.Namespace = "Pod", "v1", ns
	return env.kube.CoreV1().Events(ns).Create(ctx, &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: fmt.Sprintf("%s-%d", prefix, i)},
		InvolvedObject: obj,
		Reason:         reason,
		Message:        fmt.Sprintf("event %d", i),
		Type:           corev1.EventTypeNormal,
		Source:         corev1.EventSource{Component: "eventcheck-test"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}, metav1.CreateOptions{})
}

// createRetrying creates event i, again while the API server cannot take
// it (a restart, a cut connection), for up to a minute. An event that
// exists already was created by an attempt whose answer was lost.
func createRetrying(ns string, i int) error {
	var last error
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		_, last = createEvent(ctx, ns, i)
		return last == nil || apierrors.IsAlreadyExists(last), nil
	})
	if err != nil {
		return fmt.Errorf("event %d of %s not created within a minute: %v", i, ns, last)
	}
	return nil
}

// createEvents creates n events from several goroutines.
func createEvents(t testing.TB, ns string, from, to int) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, to-from)
	next := make(chan int)
	for range 8 {
		wg.Go(func() {
			for i := range next {
				if err := createRetrying(ns, i); err != nil {
					errs <- err
				}
			}
		})
	}
	for i := from; i < to; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// indexed counts the documents of a namespace, and the distinct UIDs
// among them, after a refresh.
func indexed(t testing.TB, ns string) (docs int64, uids int) {
	t.Helper()
	ctx := context.Background()
	_, _ = env.search.Client.Indices.Refresh(ctx, &opensearchapi.IndicesRefreshReq{Index: []string{eventindex.Pattern}})
	q := eventindex.Query{}.And(eventindex.Term("metadata.namespace", ns))
	n, err := env.search.Count(ctx, q)
	if err != nil {
		return 0, 0
	}
	terms, err := env.search.Terms(ctx, q, "metadata.uid.keyword", 10000)
	if err != nil {
		return 0, 0
	}
	return n, len(terms)
}

func waitIndexed(t testing.TB, ns string, want int) {
	t.Helper()
	var docs int64
	var uids int
	err := wait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 90*time.Second, true, func(context.Context) (bool, error) {
		docs, uids = indexed(t, ns)
		return docs >= int64(want), nil
	})
	if err != nil || docs != int64(want) || uids != want {
		t.Fatalf("namespace %s: %d documents for %d distinct events, want %d of each (%v)", ns, docs, uids, want, err)
	}
}

func TestExportsEventsAndTheirUpdates(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	addr := runExporter(t, exporterConfig(t))
	waitReady(t, addr, true)
	ns := namespace(t, "exp-update")

	ev, err := createEvent(ctx, ns, 1)
	if err != nil {
		t.Fatal(err)
	}
	find := func(count int64) {
		t.Helper()
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
			res, err := env.search.Find(ctx, eventindex.Match{Namespace: ns, Reason: "BurstTest"})
			return err == nil && len(res.Matched) == 1 && res.Matched[0].Event.Count == count, nil
		})
		if err != nil {
			t.Fatalf("no single document with count %d for the event", count)
		}
	}
	find(1)
	// The event recorder bumps count and lastTimestamp on repeats: the
	// document must follow (upstream's stays at the first occurrence).
	ev.Count = 5
	ev.LastTimestamp = metav1.NewTime(time.Now().Add(time.Second))
	if _, err := env.kube.CoreV1().Events(ns).Update(ctx, ev, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	find(5)

	// The scheduler writes through events.k8s.io: its FailedScheduling
	// must still have a lastTimestamp for the dashboard.
	since := time.Now().Add(-2 * time.Second)
	dep := `{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"too-big"},"spec":{"selector":{"matchLabels":{"app":"too-big"}},"template":{"metadata":{"labels":{"app":"too-big"}},"spec":{"containers":[{"name":"c","image":"nginx","resources":{"requests":{"cpu":"999999m"}}}]}}}}`
	if err := env.kube.AppsV1().RESTClient().Post().Namespace(ns).Resource("deployments").Body([]byte(dep)).SetHeader("Content-Type", "application/json").Do(ctx).Error(); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		res, err := env.search.Find(ctx, eventindex.Match{Namespace: ns, Reason: "FailedScheduling", NamePrefix: "too-big", Message: "Insufficient cpu", Since: since})
		return err == nil && len(res.Matched) > 0, nil
	})
	if err != nil {
		t.Fatal("FailedScheduling not found by lastTimestamp: events.k8s.io times were not filled")
	}

	resp, err := http.Get(addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, m := range []string{"events_exporter_documents_indexed_total", "events_exporter_bulk_requests_total{result=\"success\"}", "events_exporter_event_to_indexed_seconds_bucket"} {
		if !strings.Contains(string(body), m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
}

func TestBurstGivesOneDocumentPerEvent(t *testing.T) {
	needEnv(t)
	addr := runExporter(t, exporterConfig(t))
	waitReady(t, addr, true)
	ns := namespace(t, "exp-burst")
	createEvents(t, ns, 0, 500)
	waitIndexed(t, ns, 500)
}

func TestNotReadyStatesSayWhy(t *testing.T) {
	needEnv(t)
	closed, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	unreachable := fmt.Sprintf("http://127.0.0.1:%d", closed)
	addr := runExporter(t, exporterConfig(t, unreachable))
	waitReadyBody(t, addr, false, "is unreachable")
	waitReadyBody(t, addr, false, "check the URL")
	waitReadyBody(t, addr, false, unreachable)

	denied := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer denied.Close()
	cfg := exporterConfig(t, denied.URL)
	cfg.Receivers[0].OpenSearch.Username, cfg.Receivers[0].OpenSearch.Password = "admin", "not-the-password"
	addr = runExporter(t, cfg)
	if body := waitReadyBody(t, addr, false, "401 Unauthorized"); strings.Contains(body, "not-the-password") {
		t.Errorf("/readyz shows the password: %q", body)
	}

	cfg = exporterConfig(t)
	cfg.Receivers[0].OpenSearch.TLS.CAFile = "/nonexistent/ca.pem"
	err = exporter.Run(context.Background(), cfg, env.sa)
	if err == nil || !strings.Contains(err.Error(), "/nonexistent/ca.pem") {
		t.Fatalf("bad CA file: Run = %v", err)
	}
}

// Two replicas with leader election: one holds the Lease and exports; when
// it stops, the other takes over and nothing is lost.
func TestLeaderElectionHandsOver(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	var probes []string
	newReplica := func(id string) (context.CancelFunc, chan error) {
		cfg := exporterConfig(t)
		cfg.LeaderElection.Enabled = true
		// No leaderElection.namespace: the Lease goes where the exporter
		// runs, as a pod's would go to its service account's namespace.
		cfg.LeaderElection.Name = "exporter-leader-test"
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		probes = append(probes, "http://"+l.Addr().String())
		go func() {
			done <- exporter.Run(rctx, cfg, env.sa, exporter.WithListener(l), exporter.WithIdentity(id),
				exporter.WithNamespace(exporterenv.Namespace), exporter.WithLogger(testLogger(t)))
		}()
		return cancel, done
	}
	stopA, doneA := newReplica("replica-a")
	stopB, doneB := newReplica("replica-b")
	t.Cleanup(func() { stopA(); stopB() })

	holder := func() string {
		lease, err := env.kube.CoordinationV1().Leases(exporterenv.Namespace).Get(ctx, "exporter-leader-test", metav1.GetOptions{})
		if err != nil || lease.Spec.HolderIdentity == nil {
			return ""
		}
		return *lease.Spec.HolderIdentity
	}
	var leader string
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		leader = holder()
		return leader != "", nil
	}); err != nil {
		t.Fatal("no replica took the lease")
	}
	// Both are ready, the standby too: a rollout must not wait on it.
	for _, p := range probes {
		waitReady(t, p, true)
	}
	ns := namespace(t, "exp-leader")
	createEvents(t, ns, 0, 50)
	waitIndexed(t, ns, 50)

	// Stop the leader: it releases the lease and the other takes over.
	stop, done := stopA, doneA
	if leader == "replica-b" {
		stop, done = stopB, doneB
	}
	stop()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
		h := holder()
		return h != "" && h != leader, nil
	}); err != nil {
		t.Fatalf("the lease stayed with %s after it stopped", leader)
	}
	createEvents(t, ns, 50, 100)
	waitIndexed(t, ns, 100)
}
