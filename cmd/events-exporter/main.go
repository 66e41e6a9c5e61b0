// Command events-exporter watches Kubernetes events and writes them to
// OpenSearch. It reads the same configuration as the upstream exporter
// (strictly: unknown keys are errors that say what was meant).
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"runtime"
	"syscall"

	// The image has nothing but this binary: no CA bundle. These roots are
	// used only when the system has none, for TLS to Amazon OpenSearch.
	_ "golang.org/x/crypto/x509roots/fallback"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/eventcheck/eventcheck/exporter"
	"github.com/eventcheck/eventcheck/exporter/config"
)

func main() {
	// One processor unless GOMAXPROCS says otherwise: the work is one
	// watch stream, which a single P keeps up with many times over
	// (about 10,000 events/s), while a second one costs more per event
	// than it gives: idle Ps spinning for work and threads woken for
	// every event that crosses goroutines (measured: a third less CPU
	// per event with 1 than with 2, docs/performance.md). Go's
	// container-aware default never goes below 2.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	configPath := flag.String("conf", "/data/config.yaml", "exporter configuration (or a Helm values file with a config: block)")
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig to use outside the cluster (default: in-cluster)")
	metricsAddr := flag.String("metrics-address", "", "override the address of /metrics, /healthz and /readyz")
	profiling := flag.Bool("profiling", false, "serve Go profiles under /debug/pprof/ on the metrics address")
	check := flag.Bool("check", false, "validate the configuration and exit")
	flag.Parse()

	cfg, err := config.Load(*configPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if *check {
		fmt.Println("configuration ok")
		return
	}
	if *metricsAddr != "" {
		cfg.MetricsAddress = *metricsAddr
	}
	log := newLogger(cfg)
	restConfig, namespace, err := kubeConfig(*kubeconfig)
	if err != nil {
		log.Error("no Kubernetes configuration", "err", err)
		os.Exit(1)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	log.Info("events exporter starting", "namespace", cfg.Namespace, "receivers", len(cfg.Receivers), "metrics", cfg.MetricsAddress)
	if err := exporter.Run(ctx, cfg, restConfig, exporter.WithLogger(log), exporter.WithNamespace(namespace), exporter.WithProfiling(*profiling)); err != nil {
		log.Error("events exporter failed", "err", err)
		os.Exit(1)
	}
}

// kubeConfig reads --kubeconfig, else the in-cluster configuration (and
// never ~/.kube/config: a pod must not pick up a stray file), with the
// namespace the exporter runs in: the kubeconfig context's, else the
// service account's.
func kubeConfig(path string) (*rest.Config, string, error) {
	cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(&clientcmd.ClientConfigLoadingRules{ExplicitPath: path}, &clientcmd.ConfigOverrides{})
	cfg, err := cc.ClientConfig()
	if err != nil {
		if path == "" {
			return nil, "", fmt.Errorf("not in a cluster and no --kubeconfig given: %w", err)
		}
		return nil, "", fmt.Errorf("--kubeconfig %s: %w", path, err)
	}
	ns, _, err := cc.Namespace()
	return cfg, ns, err
}

func newLogger(cfg *config.Config) *slog.Logger {
	level := map[string]slog.Level{"trace": slog.LevelDebug, "debug": slog.LevelDebug, "info": slog.LevelInfo,
		"warn": slog.LevelWarn, "error": slog.LevelError, "fatal": slog.LevelError, "panic": slog.LevelError}[cfg.LogLevel]
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "pretty" {
		return slog.New(slog.NewTextHandler(os.Stderr, opts))
	}
	return slog.New(slog.NewJSONHandler(os.Stderr, opts))
}
