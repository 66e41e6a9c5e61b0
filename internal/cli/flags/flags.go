// Package flags is the environment's flags, defined once for every front
// end: `eventcheck run` and the e2e suite take them all, `eventcheck env`
// the cluster's and the local OpenSearch's, with the same names, defaults
// and meanings.
package flags

import (
	"cmp"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"slices"
	"strings"

	"github.com/eventcheck/eventcheck/exporter/osclient"
	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/exporters"
	"github.com/eventcheck/eventcheck/internal/exportervalues"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/inputfile"
	"github.com/eventcheck/eventcheck/internal/opensearch"
	"github.com/eventcheck/eventcheck/internal/page"
	"github.com/eventcheck/eventcheck/internal/pins"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// Cluster are the flags that choose and shape a cluster, and where `env
// up` keeps its environment.
type Cluster struct {
	Cluster         string
	ClusterName     string
	KindConfig      string
	NodeImage       string
	Kubeconfig      string
	Context         string
	Nodes           int
	LocalclusterBin string
	EnvDir          string
	// ImageArchives and LoadImages are made pullable by every node once
	// the cluster is up.
	ImageArchives stringList
	LoadImages    stringList
}

// Register defines the cluster flags on fs. withKubeconfig is false under
// e2e-framework, which defines --kubeconfig and --context itself.
func (c *Cluster) Register(fs *flag.FlagSet, withKubeconfig bool) {
	fs.StringVar(&c.Cluster, "cluster", cluster.Auto, "cluster provider: auto, kind, local or kubeconfig (auto: kind when a container engine answers, else local)")
	fs.StringVar(&c.ClusterName, "cluster-name", "eventcheck", "cluster name (kind) or state directory name (local)")
	fs.StringVar(&c.KindConfig, "kind-config", "", "kind cluster config (default: kind-config.yaml when present)")
	fs.StringVar(&c.NodeImage, "node-image", "", "kind node image (default: kind's own; with no registry, one built or loaded here)")
	fs.IntVar(&c.Nodes, "nodes", 3, "nodes of a local cluster")
	fs.StringVar(&c.LocalclusterBin, "localcluster-bin", "", "localcluster binary (default: built from the source tree)")
	if withKubeconfig {
		fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "kubeconfig of an existing cluster (kubeconfig provider), or where kind writes its own")
		fs.StringVar(&c.Context, "context", "", "kubeconfig context (kubeconfig provider)")
	}
	fs.StringVar(&c.EnvDir, "env-dir", "", "where env up keeps its OpenSearch, for --reuse (default: $EVENTCHECK_ENV_DIR, else a fixed directory)")
	fs.Var(&c.ImageArchives, "image-archive", "a docker save archive (FILE) whose images every node can then pull, loaded once the cluster is up (repeatable; kind and local)")
	fs.Var(&c.LoadImages, "load-image", "an image of the local container engine that every node can then pull, loaded once the cluster is up (repeatable; kind and local)")
}

// kindConfig is --kind-config, else kind-config.yaml when the working
// directory has one.
func (c *Cluster) kindConfig() string {
	if c.KindConfig != "" {
		return c.KindConfig
	}
	if _, err := os.Stat("kind-config.yaml"); err == nil {
		return "kind-config.yaml"
	}
	return ""
}

// Options are the cluster options the flags say, for the provider name
// (kind's config only for kind or auto).
func (c *Cluster) Options(name string) []cluster.Option {
	opts := []cluster.Option{cluster.WithName(c.ClusterName), cluster.WithNodes(c.Nodes), cluster.WithBinary(c.LocalclusterBin),
		cluster.WithKubeconfig(c.Kubeconfig, c.Context)}
	if kc := c.kindConfig(); kc != "" && (name == cluster.Kind || name == cluster.Auto) {
		opts = append(opts, cluster.WithConfigFile(kc))
	}
	if c.NodeImage != "" {
		opts = append(opts, cluster.WithNodeImage(c.NodeImage))
	}
	if len(c.ImageArchives)+len(c.LoadImages) > 0 {
		opts = append(opts, cluster.WithImages(c.ImageArchives, c.LoadImages))
	}
	return opts
}

// Validate refuses a provider name no backend has and values that cannot
// work (no nodes, a file that is not there), before anything starts: `env
// up` must not start OpenSearch and then find the localcluster binary
// missing.
func (c *Cluster) Validate() error {
	if !slices.Contains(cluster.Names, c.Cluster) {
		return fmt.Errorf("--cluster %q: use one of %v", c.Cluster, cluster.Names)
	}
	if c.Nodes < 1 {
		return fmt.Errorf("--nodes %d: a cluster needs at least 1 node", c.Nodes)
	}
	if c.KindConfig != "" {
		if err := inputfile.Check("--kind-config", c.KindConfig, inputfile.Values); err != nil {
			return err
		}
	}
	if err := cluster.CheckImages(c.Cluster, c.ImageArchives, c.LoadImages); err != nil {
		return err
	}
	for _, archive := range c.ImageArchives {
		if st, err := os.Stat(archive); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("--image-archive %s: not a file; write one with `docker save -o FILE IMAGE`, or name an image the engine holds with --load-image", archive)
		}
	}
	if c.Cluster == cluster.Kubeconfig && c.Kubeconfig != "" {
		// With kind, --kubeconfig is where kind writes its own.
		if err := inputfile.Check("--kubeconfig", c.Kubeconfig, inputfile.Credential); err != nil {
			return err
		}
	}
	flag, bin := "--localcluster-bin", c.LocalclusterBin
	if bin == "" {
		flag, bin = "$EVENTCHECK_LOCALCLUSTER", os.Getenv("EVENTCHECK_LOCALCLUSTER")
	}
	if bin != "" && (c.Cluster == cluster.Local || c.Cluster == cluster.Auto) {
		if st, err := os.Stat(bin); err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return fmt.Errorf("%s %s: not an executable file; build it with `eventcheck env build-localcluster` (or `make localcluster`), or fix the path", flag, bin)
		}
	}
	return nil
}

// Distribution are the flags of the local OpenSearch's distribution.
type Distribution struct {
	OSVersion  string
	OSZip      string
	JavaHome   string
	OSSecurity bool
}

// Register defines --opensearch-version, --opensearch-zip and --java-home.
func (d *Distribution) Register(fs *flag.FlagSet) {
	fs.StringVar(&d.OSVersion, "opensearch-version", "", "OpenSearch version (local: x.y.z or a series, default newest 2.19.x; container: image tag)")
	fs.StringVar(&d.OSZip, "opensearch-zip", "", "local OpenSearch distribution zip, for offline use")
	fs.StringVar(&d.JavaHome, "java-home", "", "JDK for local OpenSearch (default: $JAVA_HOME if it fits, else found)")
	fs.BoolVar(&d.OSSecurity, "opensearch-security", false, "local OpenSearch with its security plugin: HTTPS from a CA made for the run, an admin and the workshop's user (version "+pins.OpenSearchSecuredVersion+")")
}

// Options are the OpenSearch options the distribution flags say.
func (d *Distribution) Options() []opensearch.Option {
	return []opensearch.Option{opensearch.WithVersion(d.OSVersion), opensearch.WithZip(d.OSZip), opensearch.WithJavaHome(d.JavaHome),
		opensearch.WithSecurity(d.OSSecurity)}
}

// Env are the environment flags of `go test ./e2e` and `eventcheck run`.
type Env struct {
	Cluster
	Distribution
	ClusterDir string

	OpenSearch     string
	OSURL          string
	OSUsername     string
	OSPasswordFile string
	OSCA           string
	OSCert         string
	OSKey          string
	OSServerName   string
	OSInsecure     bool
	AWSRegion      string
	AWSService     string
	OSImage        string
	OSDir          string

	Exporter        string
	ExporterConfig  string
	Set             stringList
	ExporterCommand string
	ExporterChart   string
	// ExporterChartVersion pins the chart, as helm install --version.
	ExporterChartVersion string
	ExporterRelease      string
	ExporterNS           string
	ExporterImage        string
	Keep                 bool
	Reuse                bool
}

// stringList is a repeatable flag.
type stringList []string

func (l *stringList) String() string     { return strings.Join(*l, " ") }
func (l *stringList) Set(v string) error { *l = append(*l, v); return nil }

// Register defines every environment flag on fs.
func (f *Env) Register(fs *flag.FlagSet, withKubeconfig bool) {
	f.Cluster.Register(fs, withKubeconfig)
	f.Distribution.Register(fs)
	fs.StringVar(&f.ClusterDir, "cluster-dir", "", "local cluster state directory (default: a fresh temporary one; with --reuse, the one that env up uses)")
	fs.StringVar(&f.OpenSearch, "opensearch", opensearch.Auto, "OpenSearch provider: auto, container, local or url (auto: container with kind, else local)")
	fs.StringVar(&f.OSURL, "opensearch-url", "", "OpenSearch endpoint (url provider)")
	fs.StringVar(&f.OSUsername, "opensearch-username", "", "basic auth user")
	fs.StringVar(&f.OSPasswordFile, "opensearch-password-file", "", "file holding the basic auth password (or set $OPENSEARCH_PASSWORD); never a flag value")
	fs.StringVar(&f.OSCA, "opensearch-ca", "", "CA file to verify the OpenSearch certificate")
	fs.StringVar(&f.OSCert, "opensearch-cert", "", "client certificate file")
	fs.StringVar(&f.OSKey, "opensearch-key", "", "client key file")
	fs.StringVar(&f.OSServerName, "opensearch-server-name", "", "TLS server name to verify")
	fs.BoolVar(&f.OSInsecure, "opensearch-insecure-skip-verify", false, "do not verify the OpenSearch certificate (not recommended)")
	fs.StringVar(&f.AWSRegion, "aws-region", "", "sign requests with AWS SigV4 in this region (Amazon OpenSearch Service)")
	fs.StringVar(&f.AWSService, "aws-service", "es", "SigV4 service: es (OpenSearch Service) or aoss (Serverless)")
	fs.StringVar(&f.OSImage, "opensearch-image", "", "OpenSearch image (container; default: opensearchproject/opensearch:VERSION, or one built here when the engine cannot pull it)")
	fs.StringVar(&f.OSDir, "opensearch-dir", "", "local OpenSearch run directory: config, data, logs (default: a fresh temporary one, removed after the run)")
	fs.StringVar(&f.Exporter, "exporter", exporters.Builtin, "exporter under test: builtin (ours), helm (a chart, see --exporter-chart), process (any binary, see --exporter-command) or existing (already installed; nothing deployed)")
	fs.StringVar(&f.ExporterConfig, "exporter-config", "", "the content's exporter config or Helm values file: what runs, with only the OpenSearch endpoint replaced (default: checks.yaml's exporter.values, else the built-in)")
	fs.Var(&f.Set, "set", "install-time override of the exporter config as helm --set takes it (repeatable; applied after checks.yaml's exporter.set)")
	fs.StringVar(&f.ExporterCommand, "exporter-command", "", "command of a process exporter; {config} and {kubeconfig} become the paths of its rendered config and kubeconfig")
	fs.StringVar(&f.ExporterChart, "exporter-chart", "", "Helm chart of a helm exporter: a directory or archive, oci://registry/chart, or REPO_URL/CHART")
	fs.StringVar(&f.ExporterChartVersion, "exporter-chart-version", "", "version of the helm exporter's chart, as helm install --version takes it (default: the newest; a local chart must be this version)")
	fs.StringVar(&f.ExporterRelease, "exporter-release", "", "Helm release name of a helm exporter (default events-exporter)")
	fs.StringVar(&f.ExporterNS, "exporter-namespace", "", "namespace of a helm exporter's release (default opensearch-exporter)")
	fs.StringVar(&f.ExporterImage, "exporter-image", "", "exporter image for kubeconfig clusters")
	fs.BoolVar(&f.Keep, "keep", false, "keep the environment and the scenario's objects after the run")
	fs.BoolVar(&f.Reuse, "reuse", false, "use the cluster and OpenSearch that 'eventcheck env up' started (and leave them running)")
}

// Options turns the flags into harness options, refusing bad values
// before anything starts. The password comes from a file or
// $OPENSEARCH_PASSWORD, never from the command line.
func (f *Env) Options(log *slog.Logger) (harness.Options, error) {
	o := harness.Options{Cluster: f.Cluster.Cluster, OpenSearch: f.OpenSearch, Exporter: f.Exporter, Log: log, EnvDir: f.EnvDir,
		ExporterOptions: []exporters.Option{exporters.WithImage(f.ExporterImage), exporters.WithCommand(f.ExporterCommand),
			exporters.WithChart(f.ExporterChart, f.ExporterRelease, f.ExporterNS), exporters.WithChartVersion(f.ExporterChartVersion)}}
	if err := f.validate(o.ExporterOptions); err != nil {
		return o, err
	}
	o.ClusterOptions = f.Cluster.Options(f.Cluster.Cluster)
	switch {
	case f.ClusterDir != "":
		o.ClusterOptions = append(o.ClusterOptions, cluster.WithDir(f.ClusterDir))
	case f.Reuse:
		o.RequireRunning = true // the provider's default directory, as env up
		o.ReuseOpenSearch = f.OSURL == ""
	case f.Cluster.Cluster == cluster.Local || f.Cluster.Cluster == cluster.Auto:
		// A private directory: parallel runs never share (or stop) a cluster.
		o.PrivateClusterDir = true
	}
	ep, err := f.endpoint()
	if err != nil {
		return o, err
	}
	if f.OSURL != "" && f.OpenSearch == opensearch.Auto {
		o.OpenSearch = opensearch.URL
	}
	o.OSOptions = append([]opensearch.Option{opensearch.WithEndpoint(ep), opensearch.WithImage(f.OSImage)}, f.Distribution.Options()...)
	if f.OSDir != "" {
		o.OSOptions = append(o.OSOptions, opensearch.WithDir(f.OSDir))
	}
	return o, nil
}

// validate refuses provider names no backend has and combinations that
// cannot work; constructing the exporter backend checks its own options
// (a command that does not split, process without a command).
func (f *Env) validate(exporterOpts []exporters.Option) error {
	if !slices.Contains(exporters.Names, f.Exporter) {
		return fmt.Errorf("--exporter %q: use one of %v", f.Exporter, exporters.Names)
	}
	if _, err := exporters.New(f.Exporter, exporterOpts...); err != nil {
		return err
	}
	if f.Exporter == exporters.Helm && f.Cluster.Cluster == cluster.Local {
		return fmt.Errorf("--exporter helm installs pods, and the local cluster's nodes run no containers: use --cluster kind or kubeconfig, or run the exporter's binary with --exporter process")
	}
	if err := f.Cluster.Validate(); err != nil {
		return err
	}
	if !slices.Contains(opensearch.Names, f.OpenSearch) {
		return fmt.Errorf("--opensearch %q: use one of %v", f.OpenSearch, opensearch.Names)
	}
	if f.OSSecurity && f.OpenSearch != opensearch.Local {
		return fmt.Errorf("--opensearch-security is the local OpenSearch's: give --opensearch local (for an endpoint of yours, --opensearch url with --opensearch-ca and its credentials)")
	}
	if f.OSSecurity && f.OSVersion != "" && strings.Count(f.OSVersion, ".") != 2 {
		return fmt.Errorf("--opensearch-version %q with --opensearch-security: give an exact x.y.z (the security plugin's version must equal it), or leave it out (%s)", f.OSVersion, pins.OpenSearchSecuredVersion)
	}
	if f.OpenSearch == opensearch.URL && f.OSURL == "" {
		return fmt.Errorf("--opensearch url needs --opensearch-url")
	}
	if f.OSURL != "" {
		if err := osclient.CheckURL(f.OSURL); err != nil {
			return fmt.Errorf("--opensearch-url %w", err)
		}
	}
	if f.AWSService != "" && f.AWSService != "es" && f.AWSService != "aoss" {
		return fmt.Errorf("--aws-service %q: want es (OpenSearch Service) or aoss (OpenSearch Serverless)", f.AWSService)
	}
	for _, file := range []struct{ flag, path string }{{"--opensearch-ca", f.OSCA}, {"--opensearch-cert", f.OSCert}, {"--opensearch-key", f.OSKey}} {
		if file.path == "" {
			continue
		}
		if err := inputfile.Check(file.flag, file.path, inputfile.Credential); err != nil {
			return err
		}
	}
	if (f.OSCert == "") != (f.OSKey == "") {
		return fmt.Errorf("--opensearch-cert and --opensearch-key go together: give both, or neither")
	}
	if f.OSZip != "" {
		if st, err := os.Stat(f.OSZip); err != nil || !st.Mode().IsRegular() {
			return fmt.Errorf("--opensearch-zip %s: not a file (want the distribution zip)", f.OSZip)
		}
	}
	return nil
}

// maxPasswordFile bounds --opensearch-password-file: a password is short,
// and /dev/zero passed by mistake must not fill the memory.
const maxPasswordFile = 64 << 10

// endpoint is the OpenSearch endpoint the flags name, with its password.
func (f *Env) endpoint() (opensearch.Endpoint, error) {
	ep := opensearch.Endpoint{URL: f.OSURL, Username: f.OSUsername}
	ep.TLS.CAFile, ep.TLS.CertFile, ep.TLS.KeyFile, ep.TLS.ServerName, ep.TLS.InsecureSkipVerify = f.OSCA, f.OSCert, f.OSKey, f.OSServerName, f.OSInsecure
	ep.Password = os.Getenv("OPENSEARCH_PASSWORD")
	if f.OSPasswordFile != "" {
		pw, err := readPassword(f.OSPasswordFile)
		if err != nil {
			return ep, err
		}
		ep.Password = pw
	}
	if f.AWSRegion != "" {
		ep.AWS = &opensearch.AWS{Region: f.AWSRegion, Service: f.AWSService}
	}
	return ep, nil
}

// readPassword reads a regular file of at most maxPasswordFile bytes: a
// FIFO would block the start, a device would never end.
func readPassword(path string) (string, error) {
	st, err := os.Stat(path)
	if err != nil {
		return "", fmt.Errorf("--opensearch-password-file: %w", err)
	}
	if !st.Mode().IsRegular() {
		return "", fmt.Errorf("--opensearch-password-file %s: not a regular file (a FIFO or a device would block or never end): write the password to a file", path)
	}
	if st.Size() > maxPasswordFile {
		return "", fmt.Errorf("--opensearch-password-file %s: %d bytes, more than the %d a password file may hold: is it the right file?", path, st.Size(), maxPasswordFile)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("--opensearch-password-file: %w", err)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}

// OptionsFor is Options for a scenario: the exporter runs the content's
// config — --exporter-config, else checks.yaml's exporter.values — with
// checks.yaml's exporter.set and then --set applied.
func (f *Env) OptionsFor(log *slog.Logger, s *scenario.Scenario) (harness.Options, error) {
	o, err := f.Options(log)
	if err != nil {
		return o, err
	}
	file, set := s.ExporterInputs(f.ExporterConfig, f.Set)
	if file == "" {
		if len(set) > 0 {
			return o, fmt.Errorf("--set needs an exporter config to apply to: give --exporter-config or exporter.values in %s", s.ChecksFile)
		}
		return o, nil
	}
	v, err := exportervalues.Load(file, set)
	if err != nil {
		return o, err
	}
	if f.Exporter == exporters.Builtin {
		// Ours reads it strictly: refused now, with its line, not after
		// the environment is up. The endpoint is filled in as it will be.
		filled, err := v.ForEndpoint(exportervalues.Endpoint{Endpoint: opensearch.Endpoint{URL: "http://127.0.0.1:9200"}})
		if err == nil {
			_, err = filled.Config(os.LookupEnv)
		}
		if err != nil {
			return o, err
		}
	}
	o.ExporterOptions = append(o.ExporterOptions, exporters.WithValues(v))
	return o, nil
}

// InstallsPagesChart makes a page's helm install the helm backend's: by
// default (exporterSet false) where the cluster named runs containers
// (kind, kubeconfig), and wherever --exporter helm says so. The page's
// chart, version, release and namespace are used unless a flag says
// otherwise (--exporter-chart for a chart this machine can reach, as an
// air-gapped run needs). The values and the page's --set lines come with
// the page's plan; the environment's endpoint and credentials replace
// what the page sets from $OPENSEARCH_*.
func (f *Env) InstallsPagesChart(h *page.HelmInstall, exporterSet bool) {
	if h != nil && !exporterSet && (f.Cluster.Cluster == cluster.Kind || f.Cluster.Cluster == cluster.Kubeconfig) {
		f.Exporter = exporters.Helm
	}
	if h == nil || f.Exporter != exporters.Helm {
		return
	}
	if f.ExporterChart == "" {
		f.ExporterChart, f.ExporterChartVersion = h.Chart, cmp.Or(f.ExporterChartVersion, h.Version)
	}
	f.ExporterRelease = cmp.Or(f.ExporterRelease, h.Release)
	f.ExporterNS = cmp.Or(f.ExporterNS, h.Namespace)
}
