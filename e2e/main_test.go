// Package e2e is the end-to-end suite: `go test ./e2e` brings up a cluster,
// an OpenSearch and the events exporter, then runs each scenario phase as
// an e2e-framework feature.
//
//	go test ./e2e                                    # auto: kind + container with a container engine, else local + local
//	go test ./e2e -args --cluster local --opensearch local
//	go test ./e2e -args --cluster kind --opensearch container
//	go test ./e2e -args --cluster kubeconfig --kubeconfig ~/.kube/config --opensearch url --opensearch-url https://... --aws-region eu-west-1
//	go test ./e2e -args --labels phase=broken        # e2e-framework's own selection flags work too
//	go test ./e2e -args --junit $PWD/out/junit.xml --json $PWD/out/report.json --report $PWD/out/report.html --artifacts $PWD/out
//
// The reports are those of `eventcheck run`, from the same plan.
package e2e

import (
	"context"
	"errors"
	"flag"
	"log/slog"
	"os"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/eventcheck/eventcheck"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/opensearch"
	"github.com/eventcheck/eventcheck/internal/report"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

var (
	testenv      env.Environment
	flags        harness.Flags
	outputs      harness.Outputs
	story        *scenario.Scenario
	scenariosDir = flag.String("scenarios", "", "scenario directory (default: the built-in events scenarios)")
	outside      = flag.Bool("allow-outside-scenario", false, "let phases apply kustomizations outside the scenario directory")
	checksFile   = flag.String("checks", "", "checks file instead of the scenario directory's checks.yaml (its apply: paths resolve against --scenarios)")
)

// suiteKey holds the running suite in the context.
type suiteKey struct{}

// suite is what the features share: the environment, the one runner whose
// results every phase adds to, and the report being built.
type suite struct {
	env    *harness.Env
	runner *scenario.Runner
	report *report.Run
}

func TestMain(m *testing.M) {
	opensearch.ConfigureTestcontainers()    // as main does
	flags.Register(flag.CommandLine, false) // e2e-framework owns --kubeconfig and --context
	outputs.Register(flag.CommandLine)
	cfg, err := envconf.NewFromFlags()
	if err != nil {
		slog.Error("flags", "err", err)
		os.Exit(2)
	}
	if story, err = loadScenario(); err != nil {
		slog.Error("scenario", "err", err)
		os.Exit(2)
	}
	if err := outputs.Prepare(); err != nil {
		slog.Error("reports", "err", err)
		os.Exit(2)
	}
	flags.Kubeconfig, flags.Context = cfg.KubeconfigFile(), cfg.KubeContext()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	testenv = env.NewWithConfig(cfg)
	testenv.Setup(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		opts, err := flags.OptionsFor(log, story)
		if err != nil {
			return ctx, err
		}
		opts.FailureLogs = outputs.FailureLogs()
		start := time.Now()
		rep := &report.Run{Scenario: story.Name, Started: start, Cluster: opts.Cluster, OpenSearch: opts.OpenSearch}
		e, err := harness.Up(ctx, opts)
		rep.EnvUp = time.Since(start)
		if err != nil {
			rep.Error, rep.Duration = err.Error(), rep.EnvUp
			return ctx, errors.Join(err, outputs.Write(rep))
		}
		log.Info("environment up", "cluster", e.ClusterKind, "elapsed", rep.EnvUp.Round(time.Millisecond))
		rep.Cluster, rep.OpenSearch = e.ClusterKind, e.OpenSearchKind
		cfg.WithKubeconfigFile(e.Cluster.Kubeconfig())
		r, err := e.Runner(story, nil)
		if err != nil {
			return ctx, errors.Join(err, e.Down(ctx))
		}
		return context.WithValue(ctx, suiteKey{}, &suite{env: e, runner: r, report: rep}), nil
	})
	// Finish is run's ending: reports and diagnostics while the environment
	// is up, then the scenario's objects and the environment removed.
	testenv.Finish(func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		s, ok := ctx.Value(suiteKey{}).(*suite)
		if !ok {
			return ctx, nil
		}
		rep := s.report
		rep.Results = s.runner.Results()
		rep.Passed = scenario.Passed(rep.Results)
		rep.Duration = time.Since(rep.Started)
		errs := []error{s.env.Conclude(ctx, s.runner, rep, outputs, log), outputs.Write(rep)}
		if flags.Keep {
			return ctx, errors.Join(errs...)
		}
		errs = append(errs, s.runner.Teardown(ctx), s.env.Down(ctx))
		return ctx, errors.Join(errs...)
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
