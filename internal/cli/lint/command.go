// Package lint is `eventcheck lint`: check workshop content without
// running it.
package lint

import (
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/spf13/cobra"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/cli/flags"
	"github.com/eventcheck/eventcheck/internal/inputfile"
	"github.com/eventcheck/eventcheck/internal/lint"
)

// Command returns `eventcheck lint`.
func Command(_ *slog.Logger) *cobra.Command {
	var in lint.Inputs
	var format, kubeconfig, kubeContext string
	cmd := &cobra.Command{
		Use:   "lint",
		Short: "Check a scenario, an exporter config (or Helm values) and a dashboards export",
		Long: `lint reports findings as file:line:col: severity: message (or --format json)
and exits 2 when any is an error (0 with only warnings).

  eventcheck lint --exporter-config values.yaml --dashboards dashboards.ndjson --scenario ./scenarios/events
  eventcheck lint --exporter-config config/events-exporter-values.yaml \
    --set config.receivers[0].opensearch.hosts[0]=https://search.example:443
  eventcheck lint --scenario ./module --kubeconfig ~/.kube/config   # plus a server-side dry-run
  eventcheck lint --page website/docs/MODULE/PAGE.md --manifests manifests`,
		Args: flags.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if in.Scenario == "" && in.ExporterConfig == "" && in.Dashboards == "" && len(in.Pages) == 0 {
				return exitcode.Errorf(exitcode.Usage, "nothing to lint: give --page, --scenario, --exporter-config and/or --dashboards")
			}
			if len(in.Pages) > 0 && in.Manifests == "" {
				return exitcode.Errorf(exitcode.Usage, "--page needs --manifests: the workshop repository's manifests directory (the page's ~/environment/eks-workshop)")
			}
			if format != "text" && format != "json" {
				return exitcode.Errorf(exitcode.Usage, "--format %q: want text or json", format)
			}
			if kubeconfig != "" {
				if err := inputfile.Check("--kubeconfig", kubeconfig, inputfile.Credential); err != nil {
					return exitcode.Wrap(exitcode.Usage, err)
				}
				rules := &clientcmd.ClientConfigLoadingRules{ExplicitPath: kubeconfig}
				cfg, err := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: kubeContext}).ClientConfig()
				if err != nil {
					return exitcode.Wrap(exitcode.Usage, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err))
				}
				in.Cluster = cfg
			}
			// The inputs are files the person named (a pipe blocks until
			// written): Ctrl-C while they load ends lint (exit 130).
			done := make(chan []lint.Finding, 1)
			go func() { done <- lint.Run(cmd.Context(), in) }()
			var findings []lint.Finding
			select {
			case <-cmd.Context().Done():
				return exitcode.Errorf(exitcode.Interrupted, "interrupted while linting")
			case findings = <-done:
			}
			out := cmd.OutOrStdout()
			if format == "json" {
				if findings == nil {
					findings = []lint.Finding{}
				}
				data, _ := json.MarshalIndent(findings, "", "  ")
				fmt.Fprintln(out, string(data))
			} else {
				for _, f := range findings {
					fmt.Fprintln(out, f)
				}
			}
			if lint.HasErrors(findings) {
				return exitcode.Errorf(exitcode.Usage, "lint found errors")
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringVar(&in.Scenario, "scenario", "", "scenario directory (kustomizations and checks.yaml)")
	f.StringVar(&in.Checks, "checks", "", "checks file to use instead of the scenario directory's checks.yaml")
	f.BoolVar(&in.AllowOutsideScenario, "allow-outside-scenario", false, "let phases apply kustomizations outside the scenario directory")
	f.StringVar(&in.ExporterConfig, "exporter-config", "", "exporter configuration or a Helm values file with a config: block")
	f.StringArrayVar(&in.Set, "set", nil, "install-time override of the exporter config, as helm install --set takes it (repeatable), e.g. config.receivers[0].opensearch.hosts[0]=https://search.example")
	f.StringVar(&in.Dashboards, "dashboards", "", "OpenSearch Dashboards saved-objects export (ndjson)")
	f.StringVar(&in.DashboardID, "dashboard", "", "check only this dashboard (id or title)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "also dry-run every phase server-side on this cluster")
	f.StringVar(&kubeContext, "context", "", "kubeconfig context")
	f.StringVar(&format, "format", "text", "text or json")
	f.StringArrayVar(&in.Pages, "page", nil, "a workshop page (repeatable: its translations): its applies render, its values and --set keys, its dashboard link, its release, its chart pinned")
	f.StringVar(&in.Manifests, "manifests", "", "with --page: the workshop repository's manifests directory (the page's ~/environment/eks-workshop)")
	return cmd
}
