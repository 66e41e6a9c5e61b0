package exporter_test

// Fault drills: a burst of events with a fault in its middle, each ending
// with exactly one document per event, counted against the API. The short
// forms run in `make test`; `make drills` runs them at 10,000 events with
// a 30 s OpenSearch outage.

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"

	"github.com/eventcheck/eventcheck/exporter/sink"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/exporterenv"
	"github.com/eventcheck/eventcheck/internal/logtail"
)

var (
	drillEvents = flag.Int("drill-events", 600, "events per fault drill")
	drillOutage = flag.Duration("drill-outage", 10*time.Second, "how long OpenSearch stays stopped in the outage drill")
)

// drillExporter is the exporter binary as a process, so that it can be
// killed; its log is kept for the checks.
type drillExporter struct {
	t                   *testing.T
	cfgPath, kubeconfig string
	cmd                 *exec.Cmd
	addr                string
	log                 logtail.Buffer
}

// startDrillExporter writes a config sending to osURL's index and starts
// the exporter on it with kubeconfig (the ServiceAccount's), ready.
func startDrillExporter(t *testing.T, osURL, kubeconfig, index string) *drillExporter {
	t.Helper()
	x := &drillExporter{t: t, cfgPath: filepath.Join(t.TempDir(), "config.yaml"), kubeconfig: kubeconfig}
	cfg := fmt.Sprintf(`route: {routes: [{match: [{receiver: os}]}]}
receivers: [{name: os, opensearch: {hosts: [%q], index: %s}}]
`, osURL, index)
	if err := os.WriteFile(x.cfgPath, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	x.start()
	t.Cleanup(x.kill)
	return x
}

func (x *drillExporter) start() {
	x.t.Helper()
	port, err := freePort()
	if err != nil {
		x.t.Fatal(err)
	}
	x.addr = fmt.Sprintf("http://127.0.0.1:%d", port)
	x.cmd = exec.Command(env.exporter, "-conf", x.cfgPath, "-kubeconfig", x.kubeconfig, "-metrics-address", strings.TrimPrefix(x.addr, "http://"))
	x.cmd.Stderr, x.cmd.Stdout = &x.log, &x.log
	if err := x.cmd.Start(); err != nil {
		x.t.Fatal(err)
	}
	waitReady(x.t, x.addr, true)
}

func (x *drillExporter) kill() {
	if x.cmd != nil && x.cmd.ProcessState == nil {
		_ = x.cmd.Process.Signal(syscall.SIGKILL)
		_ = x.cmd.Wait()
	}
}

// fault is what a drill does in the middle of its burst.
type fault struct {
	// rejected holds the UIDs of events that must have no document.
	rejected map[string]bool
	on       func(t *testing.T)
	hold     time.Duration // the fault lasts at least this long
	off      func(t *testing.T)
}

// drill writes a third of the burst, starts the fault once some of it is
// indexed, writes the second third during it, ends it after its hold,
// writes the rest, and checks that every event the API holds has exactly
// one document.
func drill(t *testing.T, ns string, search *eventindex.Searcher, f fault) {
	t.Helper()
	n := *drillEvents
	third := n / 3
	createEvents(t, ns, 0, third)
	if err := wait.PollUntilContextTimeout(context.Background(), 20*time.Millisecond, time.Minute, true, func(ctx context.Context) (bool, error) {
		c, err := search.Count(ctx, eventindex.Query{}.And(eventindex.Term("metadata.namespace", ns)))
		return err == nil && c > 0, nil
	}); err != nil {
		t.Fatal("nothing indexed before the fault")
	}
	began := time.Now()
	f.on(t)
	createEvents(t, ns, third, 2*third)
	if rest := f.hold - time.Since(began); rest > 0 {
		<-time.After(rest) // the fault's length is the drill's point
	}
	f.off(t)
	createEvents(t, ns, 2*third, n)
	accountedFor(t, ns, search, f.rejected)
}

// accountedFor waits until every event of ns in the API has a document
// (but those in rejected, which must have none), then requires exactly
// one per event.
func accountedFor(t *testing.T, ns string, search *eventindex.Searcher, rejected map[string]bool) {
	t.Helper()
	ctx := context.Background()
	evs, err := env.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	uids := make([]string, 0, len(evs.Items))
	for _, ev := range evs.Items {
		if !rejected[string(ev.UID)] {
			uids = append(uids, string(ev.UID))
		}
	}
	var counts map[string]int64
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, 3*time.Minute, true, func(ctx context.Context) (bool, error) {
		_, _ = search.Client.Indices.Refresh(ctx, &opensearchapi.IndicesRefreshReq{Index: []string{search.Index}})
		counts, err = search.CountByUID(ctx, uids)
		return err == nil && len(counts) == len(uids), nil
	})
	var missing, doubled []string
	for _, uid := range uids {
		switch c := counts[uid]; {
		case c == 0:
			missing = append(missing, uid)
		case c > 1:
			doubled = append(doubled, fmt.Sprintf("%s×%d", uid, c))
		}
	}
	if len(missing) > 0 || len(doubled) > 0 || err != nil {
		t.Fatalf("%d events in the API: %d without a document (e.g. %v), %d with more than one (e.g. %v) (%v)",
			len(uids), len(missing), head(missing), len(doubled), head(doubled), err)
	}
	if rejected != nil {
		rc, err := search.CountByUID(ctx, keys(rejected))
		if err != nil || len(rc) > 0 {
			t.Fatalf("rejected events have documents: %v %v", rc, err)
		}
	}
	t.Logf("%d events, one document each", len(uids))
}

func head(s []string) []string { return s[:min(len(s), 3)] }

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func TestDrillOpenSearchStoppedMidBurst(t *testing.T) {
	needEnv(t)
	x := startDrillExporter(t, env.osURL, env.saFile, "eks-kubernetes-events")
	ns := namespace(t, "drill-outage")
	ctx := context.Background()
	restarted := true
	t.Cleanup(func() {
		if !restarted {
			_, _ = env.server.Start(ctx)
		}
	})
	drill(t, ns, env.search, fault{
		on: func(t *testing.T) {
			restarted = false
			if err := env.server.Stop(ctx); err != nil {
				t.Fatal(err)
			}
			waitReadyBody(t, x.addr, false, "unreachable")
			// Updates during the outage: the newer version must win.
			for i := range 20 {
				ev, err := env.kube.CoreV1().Events(ns).Get(ctx, fmt.Sprintf("burst-%d", i), metav1.GetOptions{})
				if err != nil {
					t.Fatal(err)
				}
				ev.Count = 3
				if _, err := env.kube.CoreV1().Events(ns).Update(ctx, ev, metav1.UpdateOptions{}); err != nil {
					t.Fatal(err)
				}
			}
		},
		hold: *drillOutage,
		off: func(t *testing.T) {
			if _, err := env.server.Start(ctx); err != nil {
				t.Fatal(err)
			}
			restarted = true
			waitReady(t, x.addr, true)
		},
	})
	// By UID: a search by message would see only the newest thousand.
	ev, err := env.kube.CoreV1().Events(ns).Get(ctx, "burst-7", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	docs, err := env.search.ByUID(ctx, string(ev.UID))
	if err != nil || len(docs) != 1 || docs[0].Event.Count != 3 {
		t.Fatalf("event updated during the outage: %v %v; want one document with count 3", docs, err)
	}
}

func TestDrillExporterKilledMidBurst(t *testing.T) {
	needEnv(t)
	x := startDrillExporter(t, env.osURL, env.saFile, "eks-kubernetes-events")
	ns := namespace(t, "drill-kill")
	drill(t, ns, env.search, fault{
		on:  func(*testing.T) { x.kill() },
		off: func(*testing.T) { x.start() },
	})
}

// OpenSearch answering 429 Too Many Requests to everything for a while:
// the exporter backs off and loses nothing.
func TestDrillOpenSearchThrottles(t *testing.T) {
	needEnv(t)
	target, _ := url.Parse(env.osURL)
	var throttle atomic.Bool
	var throttled atomic.Int64
	rp := httputil.NewSingleHostReverseProxy(target)
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if throttle.Load() {
			throttled.Add(1)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			fmt.Fprint(w, `{"error":{"type":"es_rejected_execution_exception","reason":"rejected execution (drill)"},"status":429}`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	t.Cleanup(proxy.Close)
	x := startDrillExporter(t, proxy.URL, env.saFile, "eks-kubernetes-events")
	drill(t, namespace(t, "drill-429"), env.search, fault{
		on:   func(*testing.T) { throttle.Store(true) },
		hold: 10 * time.Second,
		off: func(t *testing.T) {
			throttle.Store(false)
			if throttled.Load() == 0 {
				t.Fatal("no request was throttled: the drill tested nothing")
			}
			waitReady(t, x.addr, true)
		},
	})
	// Backing off: far fewer refused requests than one per millisecond.
	if n := throttled.Load(); n > 500 {
		t.Errorf("%d requests refused in 10 s: the exporter does not back off", n)
	}
}

// The API server as the exporter sees a restart: every connection drops,
// new ones are cut for a few seconds, and the first watch afterwards is
// told 410 Gone (its resource version was compacted away), so the watch
// must relist.
func TestDrillAPIServerRestartsMidBurst(t *testing.T) {
	needEnv(t)
	p := newAPIProxy(t)
	startDrillExporter(t, env.osURL, p.kubeconfig, "eks-kubernetes-events")
	drill(t, namespace(t, "drill-api"), env.search, fault{
		on: func(*testing.T) {
			p.down.Store(true)
			p.gone.Store(true)
			p.srv.CloseClientConnections()
		},
		hold: 5 * time.Second,
		off:  func(*testing.T) { p.down.Store(false) },
	})
	if p.goneSent.Load() == 0 {
		t.Error("no watch was answered 410 Gone: the drill tested less than it says")
	}
}

// The real API server restarts mid-burst: the local cluster's supervisor
// starts a new kube-apiserver on the same etcd, while events keep being
// created (retried until it serves again). Every Event must end with
// exactly one document.
func TestDrillRealAPIServerRestartsMidBurst(t *testing.T) {
	needEnv(t)
	startDrillExporter(t, env.osURL, env.saFile, "eks-kubernetes-events")
	restarted := make(chan error, 1)
	drill(t, namespace(t, "drill-restart"), env.search, fault{
		on: func(*testing.T) {
			go func() { restarted <- env.cluster.RestartAPIServer(context.Background()) }()
		},
		off: func(t *testing.T) {
			if err := <-restarted; err != nil {
				t.Fatal(err)
			}
		},
	})
}

type apiProxy struct {
	srv              *httptest.Server
	kubeconfig       string
	down, gone       atomic.Bool
	goneSent, resets atomic.Int64
}

func newAPIProxy(t *testing.T) *apiProxy {
	t.Helper()
	target, err := url.Parse(env.sa.Host)
	if err != nil {
		t.Fatal(err)
	}
	// Forward with the apiserver's CA but no credentials of our own: the
	// exporter's token passes through.
	tr, err := rest.TransportFor(&rest.Config{TLSClientConfig: rest.TLSClientConfig{CAData: env.sa.CAData, CAFile: env.sa.CAFile}})
	if err != nil {
		t.Fatal(err)
	}
	p := &apiProxy{}
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = tr
	rp.FlushInterval = -1 // watches stream
	p.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p.down.Load() {
			p.resets.Add(1)
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, err := hj.Hijack(); err == nil {
					_ = c.Close()
					return
				}
			}
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		if r.URL.Query().Get("watch") == "true" && p.gone.CompareAndSwap(true, false) {
			p.goneSent.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintln(w, `{"type":"ERROR","object":{"kind":"Status","apiVersion":"v1","metadata":{},"status":"Failure","message":"too old resource version (drill)","reason":"Expired","code":410}}`)
			return
		}
		rp.ServeHTTP(w, r)
	}))
	p.srv.EnableHTTP2 = false // Hijack needs HTTP/1.1
	p.srv.TLS = &tls.Config{NextProtos: []string{"http/1.1"}}
	p.srv.StartTLS()
	t.Cleanup(p.srv.Close)
	cfg := rest.CopyConfig(env.sa)
	cfg.Host = p.srv.URL
	cfg.CAFile, cfg.CAData = "", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: p.srv.Certificate().Raw})
	if p.kubeconfig, err = exporterenv.WriteKubeconfig(cfg, t.TempDir()); err != nil {
		t.Fatal(err)
	}
	return p
}

// A document OpenSearch rejects for good (a mapping conflict) is counted,
// logged once with the reason, and never holds up the others.
func TestDrillRejectedDocumentBlocksNothing(t *testing.T) {
	needEnv(t)
	ctx := context.Background()
	index := fmt.Sprintf("drill-rejects-%d", time.Now().UnixNano())
	// fieldPath is a number here: an event naming a container's field
	// path cannot be indexed, the others can.
	body := `{"mappings":{"properties":{"involvedObject":{"properties":{"fieldPath":{"type":"long"}}}}}}`
	if _, err := env.search.Client.Indices.Create(ctx, opensearchapi.IndicesCreateReq{Index: index, Body: strings.NewReader(body)}); err != nil {
		t.Fatal(err)
	}
	search := eventindex.NewSearcher(env.search.Client, index)
	x := startDrillExporter(t, env.osURL, env.saFile, index)
	ns := namespace(t, "drill-reject")
	rejected := map[string]bool{}
	drill(t, ns, search, fault{
		rejected: rejected,
		on: func(t *testing.T) {
			now := metav1.Now()
			ev, err := env.kube.CoreV1().Events(ns).Create(ctx, &corev1.Event{
				ObjectMeta: metav1.ObjectMeta{Name: "poison"},
				InvolvedObject: corev1.ObjectReference{Kind: "Pod", APIVersion: "v1", Namespace: ns, Name: "poison",
					FieldPath: "spec.containers{app}"},
				Reason: "Poison", Message: "cannot be indexed here", Type: corev1.EventTypeWarning,
				FirstTimestamp: now, LastTimestamp: now, Count: 1,
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			rejected[string(ev.UID)] = true
		},
		off: func(*testing.T) {},
	})
	if got := scrapeSum(t, x.addr+"/metrics", "events_exporter_documents_rejected_total"); got != 1 {
		t.Errorf("rejected documents counted: %v; want 1", got)
	}
	log := string(x.log.Bytes())
	if n := strings.Count(log, sink.RejectedMessage); n != 1 || !strings.Contains(log, "mapper_parsing_exception") {
		t.Errorf("the rejection was logged %d times (want once, with mapper_parsing_exception):\n%s", n, log)
	}
}
