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
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	"sigs.k8s.io/e2e-framework/pkg/env"
	"sigs.k8s.io/e2e-framework/pkg/envconf"

	"github.com/eventcheck/eventcheck"
	"github.com/eventcheck/eventcheck/internal/check"
	ecflags "github.com/eventcheck/eventcheck/internal/cli/flags"
	"github.com/eventcheck/eventcheck/internal/opensearch"
	"github.com/eventcheck/eventcheck/internal/pagecheck"
	"github.com/eventcheck/eventcheck/internal/report"
	"github.com/eventcheck/eventcheck/internal/scenario"
	"github.com/eventcheck/eventcheck/internal/session"
)

var (
	testenv      env.Environment
	flags        ecflags.Env
	outputs      session.Outputs
	story        *scenario.Scenario
	scenariosDir = flag.String("scenarios", "", "scenario directory (default: the built-in events scenarios)")
	outside      = flag.Bool("allow-outside-scenario", false, "let phases apply kustomizations outside the scenario directory")
	checksFile   = flag.String("checks", "", "checks file instead of the scenario directory's checks.yaml (its apply: paths resolve against --scenarios)")
	manifests    = flag.String("manifests", "", "with --page: the workshop repository's manifests directory (the page's ~/environment/eks-workshop)")
	dashboards   = flag.String("dashboards", "", "with --page: the dashboards export the page's link must be in")
	strict       = flag.Bool("strict", false, "with --page: a drifted claim fails")
	pages        pageList
	// derived is the page's story when --page is given; its claims are
	// judged after the phases (TestWorkshopEvents) and in the reports.
	derived *pagecheck.Derived
)

// pageList is the repeatable --page flag: a page and its translations.
type pageList []string

func (l *pageList) String() string     { return strings.Join(*l, ",") }
func (l *pageList) Set(v string) error { *l = append(*l, v); return nil }

// sessionKey holds the run in the context: the one session whose results
// every phase adds to, as `eventcheck run`'s does.
type sessionKey struct{}

func TestMain(m *testing.M) {
	opensearch.ConfigureTestcontainers()    // as main does
	flags.Register(flag.CommandLine, false) // e2e-framework owns --kubeconfig and --context
	flag.Var(&pages, "page", "a workshop page to derive the plan from instead of a scenario (repeatable: its translations)")
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
	opts, err := flags.OptionsFor(log, story)
	if err != nil {
		slog.Error("flags", "err", err)
		os.Exit(2)
	}
	// An interrupt ends the run the way a failure does: setup stops, the
	// Finish step writes the reports and takes down what was brought up
	// (a kind cluster, the local cluster's processes), and a second
	// interrupt kills at once.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() { <-ctx.Done(); stop() }()
	testenv = env.NewWithConfig(cfg).WithContext(ctx)
	testenv.Setup(func(ctx context.Context, cfg *envconf.Config) (context.Context, error) {
		sc := session.Config{Scenario: story, Env: opts, Outputs: outputs, Keep: flags.Keep,
			Say: func(format string, args ...any) { log.Info(fmt.Sprintf(format, args...)) }, Log: log}
		if derived != nil {
			sc.Strict = *strict
			sc.Judge = func(res []check.Result, rep *report.Run) int { return derived.Conclude(res, rep, *strict) }
		}
		s, err := session.Start(ctx, sc)
		// The session is in the context even when Start failed: Finish
		// writes the reports of an environment that never came up.
		ctx = context.WithValue(ctx, sessionKey{}, s)
		if err != nil && ctx.Err() != nil {
			return ctx, fmt.Errorf("%w: %w", session.ErrInterruptedStart, err)
		}
		if err != nil {
			return ctx, err
		}
		log.Info("environment up", "cluster", s.Env.ClusterKind, "elapsed", s.Report.EnvUp.Round(time.Millisecond))
		cfg.WithKubeconfigFile(s.Env.Cluster.Kubeconfig())
		return ctx, nil
	})
	// Finish is run's ending: reports and diagnostics while the environment
	// is up, then the scenario's objects and the environment removed.
	testenv.Finish(func(ctx context.Context, _ *envconf.Config) (context.Context, error) {
		s, _ := ctx.Value(sessionKey{}).(*session.Session)
		err := s.Finish(ctx)
		if err != nil { // e2e-framework logs a Finish error only at -v=2
			log.Error("reports", "err", err)
		}
		return ctx, err
	})
	code := testenv.Run(m)
	stop()
	os.Exit(code)
}

func loadScenario() (*scenario.Scenario, error) {
	if len(pages) > 0 {
		if *manifests == "" {
			return nil, fmt.Errorf("--page needs --manifests: the workshop repository's manifests directory")
		}
		var err error
		if derived, err = pagecheck.Load(pages, *manifests, *dashboards); err != nil {
			return nil, err
		}
		if err := derived.Override(*checksFile); err != nil {
			return nil, err
		}
		exporterSet := false
		flag.Visit(func(f *flag.Flag) { exporterSet = exporterSet || f.Name == "exporter" })
		flags.InstallsPagesChart(derived.Story.Helm, exporterSet)
		derived.RunsExporter(flags.Exporter)
		dir, err := os.MkdirTemp("", "eventcheck-page-")
		if err != nil {
			return nil, err
		}
		return derived.Scenario(dir)
	}
	if *scenariosDir != "" {
		opts := []scenario.LoadOption{scenario.AllowOutside(*outside)}
		if *checksFile != "" {
			opts = append(opts, scenario.ChecksAt(*checksFile))
		}
		return scenario.LoadDir(*scenariosDir, opts...)
	}
	return scenario.LoadFS(eventcheck.Content, eventcheck.DefaultScenario)
}
