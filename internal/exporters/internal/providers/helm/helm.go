// Package helm installs the exporter as a workshop page does: a Helm
// chart (a local directory or archive, an OCI reference, or a chart in a
// repository) with the content's values file and its --set overrides,
// through Helm's own SDK. Only the OpenSearch endpoint is replaced in the
// values; the release is uninstalled on Stop. Its pods must run, so it
// needs kind or a real cluster: the local cluster's nodes run no
// containers.
package helm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/action"
	"helm.sh/helm/v4/pkg/chart"
	"helm.sh/helm/v4/pkg/chart/loader"
	chartv2 "helm.sh/helm/v4/pkg/chart/v2"
	"helm.sh/helm/v4/pkg/cli"
	"helm.sh/helm/v4/pkg/kube"
	"helm.sh/helm/v4/pkg/registry"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/eventcheck/eventcheck/internal/exporterenv"
	"github.com/eventcheck/eventcheck/internal/exporters/internal/providers"
	"github.com/eventcheck/eventcheck/internal/exportervalues"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// Defaults where the options say nothing: the workshop's release, in the
// namespace where the workshop and our own deploy both put the exporter.
const (
	DefaultRelease   = "events-exporter"
	DefaultNamespace = exporterenv.Namespace
)

type provider struct {
	o        providers.Options
	defaults func() (*exportervalues.Values, error)
	release  *Release
}

// New returns the helm backend; defaults supplies the values when the
// content gives none.
func New(o providers.Options, defaults func() (*exportervalues.Values, error)) providers.Provider {
	if o.Release == "" {
		o.Release = DefaultRelease
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	return &provider{o: o, defaults: defaults}
}

func (p *provider) Start(ctx context.Context, t providers.Target) (*providers.Running, error) {
	p.o.Defaults()
	if t.ClusterKind == "local" {
		return nil, fmt.Errorf("--exporter helm installs pods, and the local cluster's nodes run no containers: use --cluster kind or kubeconfig, or run the exporter's binary with --exporter process (%w)", providers.ErrUsage)
	}
	if p.o.Chart == "" {
		return nil, fmt.Errorf("--exporter helm needs --exporter-chart: a chart directory or archive, oci://registry/chart, or REPO_URL/CHART (%w)", providers.ErrUsage)
	}
	values, index, err := p.o.Content(p.defaults)
	if err != nil {
		return nil, err
	}
	vals, err := Values(values, t.PodEndpoint)
	if err != nil {
		return nil, err
	}
	rel := &Release{Kubeconfig: t.Kubeconfig, Chart: p.o.Chart, Version: p.o.ChartVersion, Name: p.o.Release, Namespace: p.o.Namespace}
	if _, err := os.Stat(p.o.Chart); err != nil && p.o.ChartVersion == "" {
		p.o.Log.Warn("the exporter chart is not pinned: the newest version installs, and a new release changes what runs; pin it with --exporter-chart-version", "chart", p.o.Chart)
	}
	// Stop uninstalls whatever Install left, a release that never got
	// ready included.
	p.release = rel
	if err := rel.Install(ctx, vals, p.o.ReadyTimeout); err != nil {
		return nil, fmt.Errorf("%w; %s", err, providers.PodStates(ctx, t.Kube, p.o.Namespace, "app.kubernetes.io/instance="+p.o.Release))
	}
	r := &providers.Running{Index: index, KeyedByUID: values.KeyedByUID(false)}
	r.PodLogs = func(ctx context.Context) (string, error) {
		return podLogs(ctx, t, p.o.Namespace, "app.kubernetes.io/instance="+p.o.Release)
	}
	p.o.Log.Info("exporter chart installed", "chart", p.o.Chart, "version", rel.installed, "release", p.o.Release, "namespace", p.o.Namespace, "index", index)
	// Installed and its pods running is not exporting (a chart may have no
	// readiness probe, a fresh cluster's DNS may not answer yet).
	return r, providers.WaitExporting(ctx, t, index, "exporter chart", p.o.ReadyTimeout, p.o.Log, nil)
}

func (p *provider) Stop(ctx context.Context) error {
	if p.release == nil {
		return nil
	}
	err := p.release.Uninstall(ctx, 2*time.Minute)
	p.release = nil
	return err
}

// Values are the chart's values for an endpoint: the content's values file
// with its overrides, each OpenSearch receiver pointed at ep.
func Values(v *exportervalues.Values, ep opensearch.Endpoint) (map[string]any, error) {
	filled, err := v.ForEndpoint(exportervalues.Endpoint{Endpoint: ep})
	if err != nil {
		return nil, err
	}
	data, err := filled.HelmValues()
	if err != nil {
		return nil, err
	}
	var vals map[string]any
	if err := yaml.Unmarshal(data, &vals); err != nil {
		return nil, fmt.Errorf("Helm values: %w", err)
	}
	return vals, nil
}

// AirGappedSet are the --set lines that make a chart shaped as the
// workshop's (image.registry, image.repository, image.tag and the image
// guard) run image, which no registry serves and which is loaded into
// the nodes instead (--image-archive, --load-image): its reference split
// as the chart takes it, and the guard's allowance.
func AirGappedSet(image string) []string {
	registry, rest := "", image
	if first, after, ok := strings.Cut(image, "/"); ok && (strings.ContainsAny(first, ".:") || first == "localhost") {
		registry, rest = first, after
	}
	repository, tag := rest, "latest"
	if i := strings.LastIndex(rest, ":"); i >= 0 {
		repository, tag = rest[:i], rest[i+1:]
	}
	return []string{"image.registry=" + registry, "image.repository=" + repository, "image.tag=" + tag,
		"global.security.allowInsecureImages=true"}
}

// Release is one installation of a chart.
type Release struct {
	Kubeconfig, Chart, Name, Namespace string
	// Version pins the chart ("": the newest); a local chart must be it.
	Version string
	// installed is the version Install installed.
	installed string
}

func (r *Release) config() (*action.Configuration, *cli.EnvSettings, error) {
	settings := cli.New()
	settings.KubeConfig = r.Kubeconfig
	settings.SetNamespace(r.Namespace)
	flags := genericclioptions.NewConfigFlags(false)
	flags.KubeConfig, flags.Namespace = &r.Kubeconfig, &r.Namespace
	cfg := action.NewConfiguration()
	if err := cfg.Init(flags, r.Namespace, "secret"); err != nil {
		return nil, nil, fmt.Errorf("helm: %w", err)
	}
	opts := []registry.ClientOption{registry.ClientOptWriter(io.Discard)}
	if PlainHTTP(r.Chart) {
		opts = append(opts, registry.ClientOptPlainHTTP())
	}
	rc, err := registry.NewClient(opts...)
	if err != nil {
		return nil, nil, fmt.Errorf("helm registry client: %w", err)
	}
	cfg.RegistryClient = rc
	return cfg, settings, nil
}

// Install installs the chart with vals. With a timeout it waits for the
// release's resources to be ready; with none it returns once they are
// created (enough on a cluster whose nodes run no pods).
func (r *Release) Install(ctx context.Context, vals map[string]any, timeout time.Duration) error {
	cfg, settings, err := r.config()
	if err != nil {
		return err
	}
	install := action.NewInstall(cfg)
	install.ReleaseName, install.Namespace, install.CreateNamespace = r.Name, r.Namespace, true
	install.WaitStrategy, install.Timeout = kube.HookOnlyStrategy, timeout
	if timeout > 0 {
		install.WaitStrategy = kube.StatusWatcherStrategy
	}
	ch, err := r.load(install, settings)
	if err != nil {
		return err
	}
	if _, err := install.RunWithContext(ctx, ch, vals); err != nil {
		return fmt.Errorf("helm install %s %s in namespace %s: %w", r.Name, r.Chart, r.Namespace, err)
	}
	return nil
}

// Load fetches the chart (an oci:// or repository one at the pinned
// version, else the newest) and loads it, as Install does.
func (r *Release) Load() (chart.Charter, error) {
	cfg, settings, err := r.config()
	if err != nil {
		return nil, err
	}
	return r.load(action.NewInstall(cfg), settings)
}

func (r *Release) load(install *action.Install, settings *cli.EnvSettings) (chart.Charter, error) {
	install.Version, install.PlainHTTP = r.Version, PlainHTTP(r.Chart)
	path := r.Chart
	if _, err := os.Stat(r.Chart); err != nil {
		// oci://… or REPO_URL/CHART: let Helm fetch it.
		if repo, name, ok := cutRepo(r.Chart); ok {
			install.RepoURL, path = repo, name
		}
		if path, err = install.LocateChart(path, settings); err != nil {
			return nil, fmt.Errorf("helm chart %s: %w", r.Chart, err)
		}
	}
	ch, err := loader.Load(path)
	if err != nil {
		return nil, fmt.Errorf("helm chart %s: %w", r.Chart, err)
	}
	if v2, ok := ch.(*chartv2.Chart); ok && v2.Metadata != nil {
		r.installed = v2.Metadata.Version
	}
	if r.Version != "" && r.installed != r.Version {
		// Helm ignores --version for a local chart; a pin that does not
		// hold must not pass unnoticed.
		return nil, fmt.Errorf("helm chart %s is version %s, not %s as --exporter-chart-version says", r.Chart, r.installed, r.Version)
	}
	return ch, nil
}

// cutRepo splits https://charts.example/repo/chart into the repository
// URL and the chart name; an oci:// reference stays whole.
func cutRepo(ref string) (repo, name string, ok bool) {
	if !strings.HasPrefix(ref, "http://") && !strings.HasPrefix(ref, "https://") {
		return "", ref, false
	}
	i := strings.LastIndex(ref, "/")
	return ref[:i], ref[i+1:], true
}

// PlainHTTP says whether an oci:// chart is reached without TLS: only a
// registry on this machine's loopback (as Docker treats localhost), never
// one across a network.
func PlainHTTP(chart string) bool {
	rest, ok := strings.CutPrefix(chart, "oci://")
	if !ok {
		return false
	}
	host, _, _ := strings.Cut(rest, "/")
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.Trim(host, "[]")
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Uninstall removes the release and waits for its resources to go.
func (r *Release) Uninstall(ctx context.Context, timeout time.Duration) error {
	cfg, _, err := r.config()
	if err != nil {
		return err
	}
	u := action.NewUninstall(cfg)
	u.WaitStrategy, u.Timeout, u.IgnoreNotFound = kube.StatusWatcherStrategy, timeout, true
	if _, err := u.Run(r.Name); err != nil {
		return fmt.Errorf("helm uninstall %s in namespace %s: %w", r.Name, r.Namespace, err)
	}
	return ctx.Err()
}

// podLogs reads the logs of the release's pods.
func podLogs(ctx context.Context, t providers.Target, ns, selector string) (string, error) {
	pods, err := t.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		return "", err
	}
	var b strings.Builder
	var errs []error
	for _, pod := range pods.Items {
		data, err := t.Kube.CoreV1().Pods(ns).GetLogs(pod.Name, &corev1.PodLogOptions{}).DoRaw(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("log of pod %s/%s: %w", ns, pod.Name, err))
			continue
		}
		b.Write(data)
	}
	return b.String(), errors.Join(errs...)
}
