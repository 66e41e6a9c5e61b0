// Package harness brings up the whole environment a scenario runs in — a
// cluster, an OpenSearch and the events exporter between them — and takes
// it down again. The e2e suite and `eventcheck run` share it.
package harness

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	kinddefaults "sigs.k8s.io/kind/pkg/apis/config/defaults"

	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/exporters"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// OpenSearchEnvDir is where `eventcheck env up` keeps its OpenSearch:
// envDir/opensearch (--env-dir), else $EVENTCHECK_ENV_DIR/opensearch, else
// a directory the OpenSearch system user can reach when we are root.
func OpenSearchEnvDir(envDir string) string {
	if envDir == "" {
		envDir = os.Getenv("EVENTCHECK_ENV_DIR")
	}
	if envDir != "" {
		return filepath.Join(envDir, "opensearch")
	}
	if os.Geteuid() == 0 {
		return "/var/lib/eventcheck/env/opensearch"
	}
	if dir, err := os.UserCacheDir(); err == nil {
		return filepath.Join(dir, "eventcheck", "env", "opensearch")
	}
	return filepath.Join(os.TempDir(), "eventcheck-env-opensearch")
}

// Choose resolves "auto", with the one policy eventcheck has: the cluster
// is kind when a container engine answers, else local; OpenSearch follows
// the cluster (a container beside kind, else local). Each choice is logged
// with why.
func Choose(ctx context.Context, clusterName, osName string, log *slog.Logger) (string, string) {
	if clusterName == cluster.Auto || clusterName == "" {
		var why string
		// The image the kind path cannot do without is kind's node image:
		// an OpenSearch image the engine cannot pull is built here.
		clusterName, why = cluster.Detect(ctx, kinddefaults.Image)
		log.Info("cluster provider chosen", "provider", clusterName, "why", why)
	}
	if osName == opensearch.Auto || osName == "" {
		osName = opensearch.Local
		if clusterName == cluster.Kind {
			osName = opensearch.Container
		}
		log.Info("OpenSearch provider chosen", "provider", osName, "why", "follows the cluster provider "+clusterName)
	}
	return clusterName, osName
}

// Options choose and configure the environment.
type Options struct {
	Cluster        string // cluster provider name (auto, kind, local, kubeconfig)
	ClusterOptions []cluster.Option
	OpenSearch     string // OpenSearch provider name (auto, container, local, url)
	OSOptions      []opensearch.Option
	// Exporter is the exporter under test (builtin, helm, process, existing).
	Exporter        string
	ExporterOptions []exporters.Option
	// RequireRunning fails Up unless the cluster is already running.
	RequireRunning bool
	// ReuseOpenSearch connects to the OpenSearch `eventcheck env up`
	// started (in EnvDir) instead of starting one.
	ReuseOpenSearch bool
	EnvDir          string
	// PrivateClusterDir gives a local cluster a temporary directory of
	// its own, removed by Down.
	PrivateClusterDir bool
	// FailureLogs, when set, receives every component's logs (kind's
	// `kind export logs`, OpenSearch's, the exporter's) if Up fails after
	// something started: an environment that never came up explains itself.
	FailureLogs string
	Log         *slog.Logger
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
	// Exporter is the exporter under test at work: the index it writes,
	// its probes and log where it has them.
	Exporter *exporters.Running
	exporter exporters.Provider
	// ReusedCluster is true when the cluster was already running (e.g.
	// from `eventcheck env up`): Down leaves it alone.
	ReusedCluster bool
	removeDir     string
	log           *slog.Logger
	// started names what Up brought up, for the message of a failed Up.
	mu      sync.Mutex
	started []string
}

// Up brings the environment up: cluster and OpenSearch in parallel, then
// the exporter under test (ours applies its index template). On error,
// what was started is stopped again.
func Up(ctx context.Context, o Options) (env *Env, err error) {
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	env = &Env{log: o.Log}
	// Everything below is undone on error, whatever fails first.
	defer func() {
		if err != nil {
			env.undo(context.WithoutCancel(ctx), o, &err)
			env = nil
		}
	}()
	if err = env.providers(ctx, &o); err != nil {
		return env, err
	}
	if err = env.start(ctx); err != nil {
		return env, err
	}
	if err = env.connect(); err != nil {
		return env, err
	}
	t := exporters.Target{ClusterKind: env.ClusterKind, REST: env.REST, Kube: env.Kube, Kubeconfig: env.Cluster.Kubeconfig(),
		LoadImageArchive: env.Cluster.LoadImageArchive, Endpoint: env.Instance.Endpoint,
		PodEndpoint: podEndpoint(env.Instance), Client: env.Instance.Client}
	if env.Exporter, err = env.exporter.Start(ctx, t); err != nil {
		return env, fmt.Errorf("exporter (%s): %w", cmp.Or(o.Exporter, exporters.Builtin), err)
	}
	env.Search = eventindex.NewSearcher(env.Instance.Client, env.Exporter.Index)
	return env, nil
}

// undo stops what a failed Up started, first exporting every component's
// logs when the options ask for them; err says where they went.
func (env *Env) undo(ctx context.Context, o Options, err *error) {
	if o.FailureLogs != "" && (env.Cluster != nil || env.OpenSearch != nil) {
		if lerr := env.ExportLogs(ctx, o.FailureLogs); lerr != nil {
			o.Log.Warn("exporting the logs of the environment that failed", "dir", o.FailureLogs, "err", lerr)
		}
		*err = fmt.Errorf("%w (what logs could be exported are in %s)", *err, o.FailureLogs)
	}
	derr := env.Down(ctx)
	switch {
	case derr != nil:
		*err = fmt.Errorf("%w\nstopping what had started (%s) failed: %v", *err, strings.Join(env.started, ", "), derr)
	case len(env.started) > 0:
		*err = fmt.Errorf("%w\nstopped what had started: %s", *err, strings.Join(env.started, ", "))
	}
}

// up notes that a part of the environment came up.
func (env *Env) up(what string) {
	env.mu.Lock()
	defer env.mu.Unlock()
	env.started = append(env.started, what)
}

// providers chooses and constructs the three providers; nothing starts.
func (env *Env) providers(ctx context.Context, o *Options) (err error) {
	if o.PrivateClusterDir {
		if env.removeDir, err = os.MkdirTemp("", "eventcheck-cluster-"); err != nil {
			return err
		}
		o.ClusterOptions = append(o.ClusterOptions, cluster.WithDir(env.removeDir))
	}
	clusterName, osName := Choose(ctx, o.Cluster, o.OpenSearch, o.Log)
	env.ClusterKind = clusterName
	if env.exporter, err = exporters.New(o.Exporter, append([]exporters.Option{exporters.WithLogger(o.Log)}, o.ExporterOptions...)...); err != nil {
		return err
	}
	if env.Cluster, err = cluster.New(clusterName, append([]cluster.Option{cluster.WithLogger(o.Log)}, o.ClusterOptions...)...); err != nil {
		return err
	}
	// Known before any later error: Down must never stop a cluster it
	// did not start (one from `eventcheck env up`).
	if env.Cluster.Running(ctx) {
		env.ReusedCluster = true
	} else if o.RequireRunning {
		return fmt.Errorf("--reuse: no %s cluster is running; start one with `eventcheck env up --cluster %s`", clusterName, clusterName)
	}
	osOpts := append([]opensearch.Option{opensearch.WithLogger(o.Log)}, o.OSOptions...)
	if o.ReuseOpenSearch {
		url, ok := opensearch.Detached(OpenSearchEnvDir(o.EnvDir))
		if !ok {
			return fmt.Errorf("--reuse: no OpenSearch from `eventcheck env up` is running (looked in %s); start the environment with `eventcheck env up`", OpenSearchEnvDir(o.EnvDir))
		}
		osName = opensearch.URL
		osOpts = append(osOpts, opensearch.WithEndpoint(opensearch.Endpoint{URL: url}))
	}
	if clusterName == cluster.Kind {
		osOpts = append(osOpts, opensearch.WithNetwork("kind"))
	}
	env.OpenSearchKind = osName
	env.OpenSearch, err = opensearch.New(osName, osOpts...)
	return err
}

// start brings the cluster and OpenSearch up: first what each needs built
// (kind's node image, the OpenSearch image), then both start. A readiness
// wait so never runs while a build it does not need holds the CPU (the
// node image takes both cores for minutes). Each phase runs the two in
// parallel; the first failure cancels the other, so a bad OpenSearch URL
// is reported at once, not after the cluster is up.
func (env *Env) start(ctx context.Context) error {
	clusterFailed := func(err error) error { return fmt.Errorf("cluster (%s): %w", env.ClusterKind, err) }
	osFailed := func(err error) error { return fmt.Errorf("OpenSearch (%s): %w", env.OpenSearchKind, err) }
	err := parallel(ctx, func(ctx context.Context) error {
		if p, ok := env.Cluster.(preparer); ok {
			if err := p.Prepare(ctx); err != nil {
				return clusterFailed(err)
			}
		}
		return nil
	}, func(ctx context.Context) error {
		if p, ok := env.OpenSearch.(preparer); ok {
			if err := p.Prepare(ctx); err != nil {
				return osFailed(err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	return parallel(ctx, func(ctx context.Context) error {
		if err := env.Cluster.Up(ctx); err != nil {
			return clusterFailed(err)
		}
		if !env.ReusedCluster {
			env.up("the " + env.ClusterKind + " cluster")
		}
		return nil
	}, func(ctx context.Context) error {
		inst, err := env.OpenSearch.Start(ctx)
		if err != nil {
			return osFailed(err)
		}
		if env.OpenSearchKind != opensearch.URL {
			env.up("OpenSearch (" + env.OpenSearchKind + ")")
		}
		env.Instance = inst
		return nil
	})
}

// preparer is a provider with work to do before it starts: building the
// image it runs (kind's, the OpenSearch container's).
type preparer interface {
	Prepare(ctx context.Context) error
}

// parallel runs fns at once and returns the first error; that error
// cancels the others' context.
func parallel(ctx context.Context, fns ...func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var once sync.Once
	var first error
	for _, fn := range fns {
		wg.Go(func() {
			if err := fn(ctx); err != nil {
				once.Do(func() { first = err; cancel() })
			}
		})
	}
	wg.Wait()
	return first
}

// connect makes the clients the checks and the exporter share.
func (env *Env) connect() (err error) {
	if env.REST, err = env.Cluster.RESTConfig(); err != nil {
		return err
	}
	env.REST.QPS, env.REST.Burst = 50, 100
	env.Kube, err = kubernetes.NewForConfig(env.REST)
	return err
}

// podEndpoint is OpenSearch as pods in the cluster reach it: on the
// container network it joined for them (kind's, with a container), else as
// this machine does.
func podEndpoint(inst *opensearch.Instance) opensearch.Endpoint {
	if inst.NetworkEndpoint != nil {
		return *inst.NetworkEndpoint
	}
	return inst.Endpoint
}

// Down stops the exporter, OpenSearch and the cluster (each only if it was
// created here).
func (e *Env) Down(ctx context.Context) error {
	var errs []error
	if e.exporter != nil {
		errs = append(errs, e.exporter.Stop(ctx))
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
		if err := e.OpenSearch.ExportLogs(ctx, filepath.Join(dir, "opensearch")); err != nil && !errors.Is(err, opensearch.ErrNotSupported) {
			errs = append(errs, err)
		}
	}
	if e.Exporter != nil {
		log, err := e.Exporter.LogText(ctx)
		errs = append(errs, err)
		if err := os.MkdirAll(dir, 0o755); err == nil && log != "" {
			errs = append(errs, os.WriteFile(filepath.Join(dir, "exporter.log"), []byte(log), 0o644))
		}
	}
	return errors.Join(errs...)
}

// Outlives says the cluster stays up after Down: one this run did not
// start (reused, or reached by kubeconfig), where the run must delete the
// objects it created.
func (e *Env) Outlives() bool {
	return e.ReusedCluster || e.ClusterKind == cluster.Kubeconfig
}
