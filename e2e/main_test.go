// Package e2e is the end-to-end suite: `go test ./e2e` brings up a cluster,
// an OpenSearch and the events exporter, then runs each scenario phase as
// an e2e-framework feature.
//
//	go test ./e2e                                    # auto: kind + container with a container engine, else local + local
//	go test ./e2e -args --cluster local --opensearch local
//	go test ./e2e -args --cluster kind --opensearch container
//	go test ./e2e -args --cluster kubeconfig --kubeconfig ~/.kube/config --opensearch url --opensearch-url https://... --aws-region eu-west-1
//	go test ./e2e -args --labels phase=broken        # e2e-framework's own selection flags work too
package e2e

import (
	"context"
	"flag"
	"log/slog"
	"os"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/eventcheck/eventcheck"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

var (
	testenv      env.Environment
	flags        harness.Flags
	scenariosDir = flag.String("scenarios", "", "scenario directory (default: the built-in events scenarios)")
	outside      = flag.Bool("allow-outside-scenario", false, "let phases apply kustomizations outside the scenario directory")
	checksFile   = flag.String("checks", "", "checks file instead of the scenario directory's checks.yaml (its apply: paths resolve against --scenarios)")
)

// envKey holds the running harness environment in the context.
type envKey struct{}

func TestMain(m *testing.M) {
	flags.Register(flag.CommandLine, false) // e2e-framework owns --kubeconfig and --context
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		slog.Error("flags", "err", err)
		os.Exit(2)
	}
	flags.Kubeconfig, flags.Context = cfg.KubeconfigFile(), cfg.KubeContext()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	testenv = env.NewWithConfig(cfg)
	testenv.Setup(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		s, err := loadScenario()
		if err != nil {
			return ctx, err
		}
		opts, err := flags.OptionsFor(log, s)
		if err != nil {
			return ctx, err
		}
		start := time.Now()
		e, err := harness.Up(ctx, opts)
		if err != nil {
			return ctx, err
		}
		log.Info("environment up", "cluster", e.ClusterKind, "elapsed", time.Since(start).Round(time.Millisecond))
		cfg.WithKubeconfigFile(e.Cluster.Kubeconfig())
		return context.WithValue(ctx, envKey{}, e), nil
	})
	testenv.Finish(func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		e, ok := ctx.Value(envKey{}).(*harness.Env)
		if !ok || flags.Keep {
			return ctx, nil
		}
		return ctx, e.Down(ctx)
	})
	os.Exit(testenv.Run(m))
}

func loadScenario() (*scenario.Scenario, error) {
	if *scenariosDir != "" {
		opts := []scenario.LoadOption{scenario.AllowOutside(*outside)}
		if *checksFile != "" {
			opts = append(opts, scenario.ChecksAt(*checksFile))
		}
		return scenario.LoadDir(*scenariosDir, opts...)
	}
	return scenario.LoadFS(eventcheck.Content, eventcheck.DefaultScenario)
}
