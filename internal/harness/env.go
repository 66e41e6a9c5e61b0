// Package harness brings up the whole environment a scenario runs in — a
// cluster, an OpenSearch and the events exporter between them — and takes
// it down again. The e2e suite and `eventcheck run` share it.
package harness

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/eventcheck/eventcheck/exporter"
	"github.com/eventcheck/eventcheck/exporter/config"
	"github.com/eventcheck/eventcheck/exporter/metrics"
	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/exporterenv"
	"github.com/eventcheck/eventcheck/internal/opensearch"
	oslocal "github.com/eventcheck/eventcheck/internal/opensearch/providers/local"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// OpenSearchEnvDir is where `eventcheck env up` keeps its OpenSearch:
// $EVENTCHECK_ENV_DIR/opensearch if set, else a directory the OpenSearch
// system user can reach when we are root.
func OpenSearchEnvDir() string {
	if dir := os.Getenv("EVENTCHECK_ENV_DIR"); dir != "" {
		return filepath.Join(dir, "opensearch")
	}
	if os.Geteuid() == 0 {
		return "/var/lib/eventcheck/env/opensearch"
	}
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "eventcheck", "env", "opensearch")
	}
	return filepath.Join(os.TempDir(), "eventcheck-env-opensearch")
}

// Options choose and configure the environment.
type Options struct {
	Cluster        string // cluster provider name (auto, kind, local, kubeconfig)
	ClusterOptions []cluster.Option
	OpenSearch     string // OpenSearch provider name (auto, container, local, url)
	OSOptions      []opensearch.Option
	// ExporterImage is the exporter image for kubeconfig clusters (kind
	// builds and loads its own).
	ExporterImage string
	// ExporterReadyTimeout bounds waiting for the exporter's /readyz.
	ExporterReadyTimeout time.Duration
	// RequireRunning fails Up unless the cluster is already running.
	RequireRunning bool
	// ReuseOpenSearch connects to the OpenSearch `eventcheck env up`
	// started instead of starting one.
	ReuseOpenSearch bool
	// PrivateClusterDir gives a local cluster a temporary directory of
	// its own, removed by Down.
	PrivateClusterDir bool
	Log               *slog.Logger
}

// Env is a running environment.
type Env struct {
	Cluster     cluster.Provider
	ClusterKind string
	OpenSearch  opensearch.Provider
	// OpenSearchKind is the OpenSearch provider used.
	OpenSearchKind string
	Instance       *opensearch.Instance
	Search         *eventindex.Searcher
	REST           *rest.Config
	Kube           kubernetes.Interface
	// Exporter is how to reach the exporter's probes and what it logged.
	Exporter *Exporter
	// ReusedCluster is true when the cluster was already running (e.g.
	// from `eventcheck env up`): Down leaves it alone.
	ReusedCluster bool
	removeDir     string
	log           *slog.Logger
}

type runner interface{ Running() bool }

// Exporter is the running exporter, wherever it runs.
type Exporter struct {
	// Probes is the base URL of /readyz and /metrics (local mode), or ""
	// when it runs in the cluster.
	Probes  string
	Metrics *metrics.Metrics
	Log     *lockedBuffer
	stop    func()
	// podLogs reads the in-cluster exporter's logs.
	podLogs func(context.Context) (string, error)
	// KeyedByUID: its documents' ids are event UIDs.
	KeyedByUID bool
}

// Up brings the environment up: cluster and OpenSearch in parallel, then
// the index template and the exporter. On error, what was started is
// stopped again.
func Up(ctx context.Context, o Options) (env *Env, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.ExporterReadyTimeout == 0 {
		o.ExporterReadyTimeout = 2 * time.Minute
	}
	env = &Env{log: o.Log}
	// Everything below is undone on error, whatever fails first.
	defer func() {
		if err != nil {
			_ = env.Down(context.WithoutCancel(ctx))
			env = nil
		}
	}()
	if o.PrivateClusterDir {
		if env.removeDir, err = os.MkdirTemp("", "eventcheck-cluster-"); err != nil {
			return env, err
		}
		o.ClusterOptions = append(o.ClusterOptions, cluster.WithDir(env.removeDir))
	}
	clusterName, osName := o.Cluster, o.OpenSearch
	if clusterName == cluster.Auto || clusterName == "" {
		var why string
		clusterName, why = cluster.Detect(ctx)
		o.Log.Info("cluster provider chosen", "provider", clusterName, "why", why)
	}
	if osName == opensearch.Auto || osName == "" {
		osName = opensearch.Local
		if clusterName == cluster.Kind {
			osName = opensearch.Container
		}
		o.Log.Info("OpenSearch provider chosen", "provider", osName, "why", "follows the cluster provider "+clusterName)
	}
	env.ClusterKind = clusterName
	if env.Cluster, err = cluster.New(ctx, clusterName, append([]cluster.Option{cluster.WithLogger(o.Log)}, o.ClusterOptions...)...); err != nil {
		return env, err
	}
	// Known before any later error: Down must never stop a cluster it
	// did not start (one from `eventcheck env up`).
	if r, ok := env.Cluster.(runner); ok && r.Running() {
		env.ReusedCluster = true
	} else if o.RequireRunning {
		return env, fmt.Errorf("--reuse: no %s cluster is running; start one with `eventcheck env up --cluster %s`", clusterName, clusterName)
	}
	osOpts := append([]opensearch.Option{opensearch.WithLogger(o.Log)}, o.OSOptions...)
	if o.ReuseOpenSearch {
		url, _, ok := oslocal.Detached(OpenSearchEnvDir())
		if !ok {
			return env, fmt.Errorf("--reuse: no OpenSearch from `eventcheck env up` is running (looked in %s); start the environment with `eventcheck env up`", OpenSearchEnvDir())
		}
		osName = opensearch.URL
		osOpts = append(osOpts, opensearch.WithEndpoint(opensearch.Endpoint{URL: url}))
	}
	if clusterName == cluster.Kind {
		osOpts = append(osOpts, opensearch.WithNetwork("kind"))
	}
	env.OpenSearchKind = osName
	if env.OpenSearch, err = opensearch.New(ctx, osName, osOpts...); err != nil {
		return env, err
	}

	// Both start in parallel; the first failure cancels the other, so a
	// bad OpenSearch URL is reported at once, not after the cluster is up.
	upCtx, cancelUp := context.WithCancel(ctx)
	defer cancelUp()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var first error
	fail := func(err error) {
		mu.Lock()
		defer mu.Unlock()
		if first == nil {
			first = err
			cancelUp()
		}
	}
	wg.Go(func() {
		if err := env.Cluster.Up(upCtx); err != nil {
			fail(fmt.Errorf("cluster (%s): %w", clusterName, err))
		}
	})
	wg.Go(func() {
		inst, err := env.OpenSearch.Start(upCtx)
		if err != nil {
			fail(fmt.Errorf("OpenSearch (%s): %w", osName, err))
			return
		}
		env.Instance = inst
	})
	wg.Wait()
	if first != nil {
		return env, first
	}
	env.Search = eventindex.NewSearcher(env.Instance.Client)
	if err := eventindex.ApplyTemplate(ctx, env.Instance.Client); err != nil {
		return env, err
	}
	if env.REST, err = env.Cluster.RESTConfig(); err != nil {
		return env, err
	}
	env.REST.QPS, env.REST.Burst = 50, 100
	if env.Kube, err = kubernetes.NewForConfig(env.REST); err != nil {
		return env, err
	}
	switch clusterName {
	case cluster.Local:
		err = env.runLocalExporter(ctx, o)
	default:
		err = env.deployExporter(ctx, o, clusterName)
	}
	return env, err
}

// runLocalExporter runs the exporter in this process as its
// ServiceAccount: the local cluster runs no pods.
func (e *Env) runLocalExporter(ctx context.Context, o Options) error {
	if err := exporterenv.ApplyRBAC(ctx, e.REST); err != nil {
		return fmt.Errorf("exporter RBAC: %w", err)
	}
	sa, err := exporterenv.ServiceAccountConfig(ctx, e.REST, 24*time.Hour)
	if err != nil {
		return err
	}
	cfg, err := exporterConfig(e.Instance.Endpoint)
	if err != nil {
		return err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	logs := &lockedBuffer{}
	m := metrics.New()
	runCtx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	done := make(chan error, 1)
	go func() {
		done <- exporter.Run(runCtx, cfg, sa, exporter.WithListener(l), exporter.WithMetrics(m),
			exporter.WithLogger(slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelInfo}))))
	}()
	e.Exporter = &Exporter{Probes: "http://" + l.Addr().String(), Metrics: m, Log: logs, stop: func() { cancel(); <-done },
		KeyedByUID: *cfg.Receivers[0].OpenSearch.UseEventID}
	return e.waitExporterReady(ctx, o.ExporterReadyTimeout, done)
}

// exporterConfig points the exporter at the OpenSearch endpoint. deDot is
// on, as in the workshop's values: label keys such as app and
// app.kubernetes.io/name would otherwise collide in an index without our
// template.
func exporterConfig(ep opensearch.Endpoint) (*config.Config, error) {
	y := fmt.Sprintf(`clusterName: eventcheck
route: {routes: [{match: [{receiver: opensearch}]}]}
receivers:
  - name: opensearch
    opensearch:
      hosts: [%q]
      index: %s
      useEventID: true
      deDot: true
      username: %q
      tls: {caFile: %q, certFile: %q, keyFile: %q, serverName: %q, insecureSkipVerify: %t}
`, ep.URL, eventindex.Index, ep.Username, ep.TLS.CAFile, ep.TLS.CertFile, ep.TLS.KeyFile, ep.TLS.ServerName, ep.TLS.InsecureSkipVerify)
	if ep.AWS != nil {
		y += fmt.Sprintf("      aws: {region: %q, service: %q}\n", ep.AWS.Region, ep.AWS.Service)
	}
	cfg, err := config.Parse([]byte(y), func(string) (string, bool) { return "", false })
	if err != nil {
		return nil, fmt.Errorf("exporter config: %w", err)
	}
	cfg.Receivers[0].OpenSearch.Password = ep.Password // never rendered into text
	return cfg, nil
}

func (e *Env) waitExporterReady(ctx context.Context, timeout time.Duration, died <-chan error) error {
	deadline := time.Now().Add(timeout)
	var last string
	for time.Now().Before(deadline) {
		select {
		case err := <-died:
			return fmt.Errorf("the exporter stopped: %v; its log:\n%s", err, e.Exporter.Log.Tail(20))
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
		resp, err := http.Get(e.Exporter.Probes + "/readyz")
		if err != nil {
			last = err.Error()
			continue
		}
		body := make([]byte, 2048)
		n, _ := resp.Body.Read(body)
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			e.log.Info("exporter ready", "probes", e.Exporter.Probes)
			return nil
		}
		last = strings.TrimSpace(string(body[:n]))
	}
	return fmt.Errorf("the exporter was not ready within %s: /readyz says %q; its log:\n%s", timeout, last, e.Exporter.Log.Tail(20))
}

// Down stops the exporter, OpenSearch and the cluster (each only if it was
// created here).
func (e *Env) Down(ctx context.Context) error {
	var errs []error
	if e.Exporter != nil && e.Exporter.stop != nil {
		e.Exporter.stop()
	}
	if e.OpenSearch != nil {
		errs = append(errs, e.OpenSearch.Stop(ctx))
	}
	if e.Cluster != nil && !e.ReusedCluster {
		errs = append(errs, e.Cluster.Down(ctx))
	}
	if e.removeDir != "" {
		errs = append(errs, os.RemoveAll(e.removeDir))
	}
	return errors.Join(errs...)
}

// ExportLogs writes the cluster's, OpenSearch's and the exporter's logs
// under dir, for diagnostics; what a provider cannot export is skipped.
func (e *Env) ExportLogs(ctx context.Context, dir string) error {
	var errs []error
	if e.Cluster != nil {
		if err := e.Cluster.ExportLogs(ctx, filepath.Join(dir, "cluster")); err != nil && !cluster.IsNotSupported(err) {
			errs = append(errs, err)
		}
	}
	if e.OpenSearch != nil {
		if err := e.OpenSearch.ExportLogs(ctx, filepath.Join(dir, "opensearch")); err != nil && !errors.Is(err, opensearchNotSupported) {
			errs = append(errs, err)
		}
	}
	if e.Exporter != nil && e.Exporter.Log != nil {
		if err := os.MkdirAll(dir, 0o755); err == nil {
			errs = append(errs, os.WriteFile(filepath.Join(dir, "exporter.log"), e.Exporter.Log.Bytes(), 0o644))
		}
	}
	return errors.Join(errs...)
}

// Runner returns a scenario runner on this environment, told what the
// exporter under test can say about itself.
func (e *Env) Runner(s *scenario.Scenario, progress scenario.Progress) (*scenario.Runner, error) {
	r, err := scenario.NewRunner(s, e.REST, e.Search, progress)
	if err != nil {
		return nil, err
	}
	if e.Exporter != nil {
		r.Exporter, r.KeyedByUID = e.Exporter, e.Exporter.KeyedByUID
	}
	return r, nil
}
