// Package env is `eventcheck env`: keep an environment (a cluster and an
// OpenSearch) running between runs for fast iteration; `eventcheck run
// --reuse` uses it.
package env

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/cli/flags"
	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// options are the cluster flags run takes, with the same defaults, so
// `env up` and `run --reuse` agree on the cluster they mean.
type options struct {
	flags.Cluster
	// chosen is the provider auto resolved to.
	chosen string
}

func (o *options) provider(ctx context.Context, log *slog.Logger) (cluster.Provider, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
	o.chosen, _ = harness.Choose(ctx, o.Cluster.Cluster, opensearch.Local, log)
	return cluster.New(o.chosen, append(o.Options(o.chosen), cluster.WithLogger(log), cluster.WithDetach(true))...)
}

// groupOnly runs a command that only groups others: alone it shows its
// help; with an argument (a misspelt verb such as `env upp`) it is a usage
// error, not a silent exit 0.
func groupOnly(cmd *cobra.Command, args []string) error {
	if err := flags.FlagTakenAsValue(cmd); err != nil {
		return exitcode.Wrap(exitcode.Usage, err)
	}
	if len(args) > 0 {
		return exitcode.Errorf(exitcode.Usage, "unknown command %q for %q: see %q", args[0], cmd.CommandPath(), cmd.CommandPath()+" --help")
	}
	return cmd.Help()
}

// Command returns `eventcheck env`.
func Command(log *slog.Logger) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Keep an environment (cluster and OpenSearch) running between runs",
		Long: `env up starts a cluster and a local OpenSearch that outlive the command;
eventcheck run --reuse then uses them, and env down stops them.`,
		RunE: groupOnly,
	}
	goFlags := flag.NewFlagSet("env", flag.ContinueOnError)
	o.Register(goFlags, true)
	cmd.PersistentFlags().AddGoFlagSet(goFlags)

	cmd.AddCommand(upCommand(o, log), downCommand(o, log), statusCommand(o, log))
	cmd.AddCommand(prepareCommand(log), buildCommand(log), engineCommand())
	return cmd
}

// upCommand starts both halves at once: the cluster and OpenSearch come
// up in parallel, and either failing is an environment error (exit 3).
// The first failure cancels the other half, and what this command started
// is stopped again (and said): a failed env up leaves nothing running.
func upCommand(o *options, log *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "up",
		Short: "Start the cluster and OpenSearch (or reuse running ones) and print how to reach them",
		Args:  flags.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			ctx := cmd.Context()
			p, err := o.provider(ctx, log)
			if err != nil {
				return exitcode.Wrap(exitcode.Usage, err)
			}
			clusterWasUp := p.Running(ctx)
			upCtx, cancel := context.WithCancel(ctx)
			defer cancel()
			var wg sync.WaitGroup
			var clusterErr, osErr error
			var url string
			var startedOS bool
			wg.Go(func() {
				if clusterErr = p.Up(upCtx); clusterErr != nil {
					cancel()
				}
			})
			wg.Go(func() {
				if url, startedOS, osErr = openSearchUp(upCtx, log, o.EnvDir); osErr != nil {
					cancel()
				}
			})
			wg.Wait()
			if clusterErr == nil && osErr == nil {
				printEnv(cmd.OutOrStdout(), o.chosen, p.Kubeconfig(), url)
				fmt.Fprintf(cmd.OutOrStdout(), "  run with:   eventcheck run --reuse --cluster %s\n  stop with:  eventcheck env down --cluster %s\n", o.chosen, o.chosen)
				return nil
			}
			// The half cancelled because the other failed says only that.
			var errs []error
			for _, e := range []error{clusterErr, osErr} {
				if e != nil && (ctx.Err() != nil || !errors.Is(e, context.Canceled)) {
					errs = append(errs, e)
				}
			}
			stopCtx := context.WithoutCancel(ctx)
			var stopped []string
			if clusterErr == nil && !clusterWasUp {
				if err := p.Down(stopCtx); err != nil {
					errs = append(errs, fmt.Errorf("stopping the cluster this command started: %w", err))
				} else {
					stopped = append(stopped, "the "+o.chosen+" cluster")
				}
			}
			if startedOS {
				if err := opensearch.StopDetached(harness.OpenSearchEnvDir(o.EnvDir)); err != nil {
					errs = append(errs, fmt.Errorf("stopping the OpenSearch this command started: %w", err))
				} else {
					stopped = append(stopped, "OpenSearch")
				}
			}
			err = errors.Join(errs...)
			if len(stopped) > 0 {
				err = fmt.Errorf("%w\nstopped what this command had started: %s", err, strings.Join(stopped, " and "))
			}
			if ctx.Err() != nil {
				return exitcode.Wrap(exitcode.Interrupted, fmt.Errorf("interrupted while bringing the environment up; nothing this command started is left running: %w", err))
			}
			return exitcode.Wrap(exitcode.Environment, err)
		},
	}
}

// downCommand stops the cluster and the detached OpenSearch, trying both
// even when one fails.
func downCommand(o *options, log *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop what env up started",
		Args:  flags.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := o.provider(cmd.Context(), log)
			if err != nil {
				return exitcode.Wrap(exitcode.Usage, err)
			}
			if err := errors.Join(p.Down(cmd.Context()), opensearch.StopDetached(harness.OpenSearchEnvDir(o.EnvDir))); err != nil {
				return exitcode.Wrap(exitcode.Environment, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), "environment is down")
			return nil
		},
	}
}

// statusCommand fails (exit 3) unless both halves are running, so scripts
// can test for a reusable environment.
func statusCommand(o *options, log *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "status",
		Short: "Say whether the environment is running and how to reach it",
		Args:  flags.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := o.provider(cmd.Context(), log)
			if err != nil {
				return exitcode.Wrap(exitcode.Usage, err)
			}
			clusterUp := p.Running(cmd.Context())
			url, osUp := opensearch.Detached(harness.OpenSearchEnvDir(o.EnvDir))
			if !clusterUp || !osUp {
				return exitcode.Errorf(exitcode.Environment, "environment not running (cluster %s: %v, OpenSearch: %v); start it with `eventcheck env up`", o.chosen, clusterUp, osUp)
			}
			printEnv(cmd.OutOrStdout(), o.chosen, p.Kubeconfig(), url)
			return nil
		},
	}
}

// openSearchUp starts (or finds) the detached local OpenSearch and applies
// the index template; started says this call started it (so a failure
// elsewhere stops it again).
func openSearchUp(ctx context.Context, log *slog.Logger, envDir string) (url string, started bool, err error) {
	dir := harness.OpenSearchEnvDir(envDir)
	if url, ok := opensearch.Detached(dir); ok {
		log.Info("reusing running OpenSearch", "url", url)
		return url, false, nil
	}
	p, err := opensearch.New(opensearch.Local, opensearch.WithDir(dir), opensearch.WithDetach(true), opensearch.WithLogger(log))
	if err != nil {
		return "", false, err
	}
	inst, err := p.Start(ctx)
	if err != nil {
		return "", false, err
	}
	if err := eventindex.ApplyTemplate(ctx, inst.Client); err != nil {
		return "", true, err
	}
	return inst.Endpoint.URL, true, nil
}

func printEnv(w io.Writer, clusterName, kubeconfig, url string) {
	fmt.Fprintf(w, "environment is up\n  cluster:    %s, kubeconfig %s\n  OpenSearch: %s (index %s)\n", clusterName, kubeconfig, url, eventindex.Pattern)
	fmt.Fprintf(w, "  try:        kubectl --kubeconfig %s get nodes\n", kubeconfig)
}

func prepareCommand(log *slog.Logger) *cobra.Command {
	var d flags.Distribution
	c := &cobra.Command{
		Use:   "prepare",
		Short: "Install what the local environment needs: the OpenSearch distribution (via Maven), its system user, a JDK check",
		Args:  flags.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := opensearch.Prepare(cmd.Context(), append(d.Options(), opensearch.WithLogger(log))...)
			if err != nil {
				return exitcode.Wrap(exitcode.Environment, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "OpenSearch %s ready at %s (Java %d at %s)\n", p.Version, p.Home, p.JavaMajor, p.JavaHome)
			return nil
		},
	}
	goFlags := flag.NewFlagSet("prepare", flag.ContinueOnError)
	d.Register(goFlags)
	c.Flags().AddGoFlagSet(goFlags)
	return c
}

func buildCommand(log *slog.Logger) *cobra.Command {
	return &cobra.Command{
		Use:   "build-localcluster",
		Short: "Build the localcluster binary: from the source tree, or for an installed eventcheck from its module version",
		Args:  flags.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := filepath.Abs("localcluster")
			if err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
				// Not in the source tree: an installed CLI builds the
				// localcluster module of its own version.
				out, err := cluster.BuildInstalledLocalcluster(cmd.Context(), log)
				if err != nil {
					return exitcode.Errorf(exitcode.Environment, "no localcluster/ here (not the source tree) and %v", err)
				}
				fmt.Fprintln(cmd.OutOrStdout(), out)
				return nil
			}
			out := filepath.Join(filepath.Dir(src), "bin", "localcluster")
			if err := cluster.BuildLocalcluster(cmd.Context(), src, out, log); err != nil {
				return exitcode.Wrap(exitcode.Environment, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	}
}

// engineCommand is `eventcheck env engine up|down`: a Docker daemon for the
// kind path, its state in a cache directory of ours.
func engineCommand() *cobra.Command {
	var dir string
	c := &cobra.Command{
		Use:   "engine",
		Short: "Start or stop a Docker daemon for the kind path (installs Debian's docker.io when missing)",
		RunE:  groupOnly,
	}
	run := func(do func(context.Context, string) (string, error)) func(*cobra.Command, []string) error {
		return func(cmd *cobra.Command, _ []string) error {
			if dir == "" {
				cache, err := os.UserCacheDir()
				if err != nil {
					return exitcode.Errorf(exitcode.Usage, "no cache directory (%v): give --dir", err)
				}
				dir = filepath.Join(cache, "eventcheck", "engine")
			}
			did, err := do(cmd.Context(), dir)
			if err != nil {
				return exitcode.Wrap(exitcode.Environment, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), did)
			return nil
		}
	}
	c.AddCommand(&cobra.Command{
		Use: "up", Short: "Start a Docker daemon unless an engine already answers", Args: flags.NoArgs, RunE: run(engine.Up),
	}, &cobra.Command{
		Use: "down", Short: "Stop the Docker daemon env engine up started", Args: flags.NoArgs, RunE: run(engine.Down),
	})
	c.PersistentFlags().StringVar(&dir, "dir", "", "the daemon's state directory (default: the user cache directory's eventcheck/engine)")
	return c
}
