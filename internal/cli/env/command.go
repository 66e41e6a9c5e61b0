// Package env is `eventcheck env`: keep an environment running between runs
// for fast iteration.
package env

import (
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/cluster/providers/local"
	osproviders "github.com/eventcheck/eventcheck/internal/opensearch/providers"
	oslocal "github.com/eventcheck/eventcheck/internal/opensearch/providers/local"
)

type options struct {
	cluster    string
	name       string
	dir        string
	configFile string
	kubeconfig string
	context    string
	nodes      int
	binary     string
}

func (o *options) clusterOptions(log *slog.Logger) []cluster.Option {
	return []cluster.Option{
		cluster.WithName(o.name), cluster.WithDir(o.dir), cluster.WithConfigFile(o.configFile),
		cluster.WithKubeconfig(o.kubeconfig, o.context), cluster.WithNodes(o.nodes),
		cluster.WithBinary(o.binary), cluster.WithLogger(log), cluster.WithDetach(true),
	}
}

// Command returns `eventcheck env`.
func Command(log *slog.Logger) *cobra.Command {
	o := &options{}
	cmd := &cobra.Command{
		Use:   "env",
		Short: "Bring an environment up, down, or show it",
	}
	f := cmd.PersistentFlags()
	f.StringVar(&o.cluster, "cluster", cluster.Local, fmt.Sprintf("cluster provider: %v", cluster.Names))
	f.StringVar(&o.name, "name", "eventcheck", "cluster name")
	f.StringVar(&o.dir, "cluster-dir", "", "local cluster state directory (default: user cache dir)")
	f.StringVar(&o.configFile, "kind-config", "", "kind cluster config file")
	f.StringVar(&o.kubeconfig, "kubeconfig", "", "kubeconfig to use (kubeconfig provider) or write (kind)")
	f.StringVar(&o.context, "context", "", "kubeconfig context (kubeconfig provider)")
	f.IntVar(&o.nodes, "nodes", 3, "number of nodes (local)")
	f.StringVar(&o.binary, "localcluster-bin", "", "localcluster binary (default: built from the source tree)")

	cmd.AddCommand(&cobra.Command{
		Use:   "up",
		Short: "Create the environment (or reuse a running one) and print how to reach it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := cluster.New(cmd.Context(), o.cluster, o.clusterOptions(log)...)
			if err != nil {
				return exitcode.Wrap(exitcode.Usage, err)
			}
			if err := p.Up(cmd.Context()); err != nil {
				return exitcode.Wrap(exitcode.Environment, err)
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "cluster (%s) is up\n  kubeconfig: %s\n", o.cluster, p.Kubeconfig())
			fmt.Fprintf(out, "  try:        kubectl --kubeconfig %s get nodes\n", p.Kubeconfig())
			fmt.Fprintf(out, "  stop with:  eventcheck env down --cluster %s\n", o.cluster)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "down",
		Short: "Stop the environment that env up started",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := cluster.New(cmd.Context(), o.cluster, o.clusterOptions(log)...)
			if err != nil {
				return exitcode.Wrap(exitcode.Usage, err)
			}
			if err := p.Down(cmd.Context()); err != nil {
				return exitcode.Wrap(exitcode.Environment, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster (%s) is down\n", o.cluster)
			return nil
		},
	})
	cmd.AddCommand(&cobra.Command{
		Use:   "status",
		Short: "Say whether the environment is running and how to reach it",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			p, err := cluster.New(cmd.Context(), o.cluster, o.clusterOptions(log)...)
			if err != nil {
				return exitcode.Wrap(exitcode.Usage, err)
			}
			type runner interface{ Running() bool }
			if r, ok := p.(runner); ok && !r.Running() {
				return exitcode.Errorf(exitcode.Environment, "cluster (%s) is not running; start it with `eventcheck env up`", o.cluster)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "cluster (%s) is running\n  kubeconfig: %s\n", o.cluster, p.Kubeconfig())
			return nil
		},
	})
	var osVersion, osZip, javaHome string
	prepare := &cobra.Command{
		Use:   "prepare",
		Short: "Install what the local environment needs: the OpenSearch distribution (via Maven), its system user, a JDK check",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, version, err := oslocal.Prepare(cmd.Context(), osproviders.Options{Version: osVersion, Zip: osZip, JavaHome: javaHome, Log: log})
			if err != nil {
				return exitcode.Wrap(exitcode.Environment, err)
			}
			java, major, err := oslocal.FindJava(javaHome)
			if err != nil {
				return exitcode.Wrap(exitcode.Environment, err)
			}
			fmt.Fprintf(cmd.OutOrStdout(), "OpenSearch %s ready at %s (Java %d at %s)\n", version, home, major, java)
			return nil
		},
	}
	prepare.Flags().StringVar(&osVersion, "opensearch-version", "", "OpenSearch version, x.y.z or a series (default: newest 2.19.x)")
	prepare.Flags().StringVar(&osZip, "opensearch-zip", "", "use this distribution zip instead of downloading")
	prepare.Flags().StringVar(&javaHome, "java-home", "", "JDK for OpenSearch (default: $JAVA_HOME if it fits, else found)")
	cmd.AddCommand(prepare)
	cmd.AddCommand(&cobra.Command{
		Use:   "build-localcluster",
		Short: "Build the localcluster binary from the source tree (cached by go build)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			src, err := filepath.Abs("localcluster")
			if err != nil {
				return err
			}
			if _, err := os.Stat(filepath.Join(src, "go.mod")); err != nil {
				return exitcode.Errorf(exitcode.Usage, "run this from the eventcheck source tree: %v", err)
			}
			out := filepath.Join(filepath.Dir(src), "bin", "localcluster")
			if err := local.Build(cmd.Context(), src, out, log); err != nil {
				return exitcode.Wrap(exitcode.Environment, err)
			}
			fmt.Fprintln(cmd.OutOrStdout(), out)
			return nil
		},
	})
	return cmd
}
