// Package container runs OpenSearch in a container with testcontainers-go:
// single node, security plugin disabled. On kind's network it answers to
// the alias "opensearch", so pods reach http://opensearch:9200.
package container

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/wait"

	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/images"
	"github.com/eventcheck/eventcheck/internal/opensearch/internal/distribution"
	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers"
	"github.com/eventcheck/eventcheck/internal/pins"
	"github.com/eventcheck/eventcheck/internal/procstat"
)

// networkAlias is the name pods use for OpenSearch on kind's network.
const networkAlias = "opensearch"

type provider struct {
	o providers.Options
	c testcontainers.Container
	// eng and pullable are what Prepare found.
	eng      *engine.Engine
	pullable bool
}

// New returns the container provider.
func New(o providers.Options) (providers.Provider, error) {
	o.Defaults()
	if o.Version == "" {
		o.Version = pins.OpenSearchImageVersion
	}
	return &provider{o: o}, nil
}

// request is the container we run; a function of the options so it can be
// checked without an engine.
func request(o providers.Options) testcontainers.ContainerRequest {
	req := testcontainers.ContainerRequest{
		Image:        cmp.Or(o.Image, "opensearchproject/opensearch:"+o.Version),
		Labels:       map[string]string{OwnerLabel: owner()},
		ExposedPorts: []string{"9200/tcp"},
		Env: map[string]string{
			"discovery.type":                                    "single-node",
			"DISABLE_SECURITY_PLUGIN":                           "true",
			"DISABLE_INSTALL_DEMO_CONFIG":                       "true",
			"OPENSEARCH_JAVA_OPTS":                              "-Xms" + o.Heap + " -Xmx" + o.Heap,
			"cluster.routing.allocation.disk.threshold_enabled": "false",
		},
		WaitingFor: wait.ForHTTP("/_cluster/health?wait_for_status=yellow&timeout=1s").
			WithPort("9200/tcp").WithStartupTimeout(o.ReadyTimeout),
	}
	if o.Network != "" {
		req.Networks = []string{o.Network}
		req.NetworkAliases = map[string][]string{o.Network: {networkAlias}}
	}
	return req
}

// networkEndpoint is how containers on o.Network reach the container (nil
// without a network): by its alias, on OpenSearch's own port.
func networkEndpoint(o providers.Options, ep providers.Endpoint) *providers.Endpoint {
	if o.Network == "" {
		return nil
	}
	ep.URL = "http://" + networkAlias + ":9200"
	return &ep
}

// OwnerLabel names the process that started a container, as host/pid, so
// a later run on the same host can remove what a killed one left
// (testcontainers' reaper cannot be pulled where no registry answers).
const OwnerLabel = "dev.eventcheck.owner"

func owner() string {
	host, _ := os.Hostname()
	return host + "/" + strconv.Itoa(os.Getpid())
}

// Prepare makes sure the image is there: the one asked for, the official
// one, or one built here when the official one cannot be pulled (cached).
// The harness prepares every part before any starts, so the readiness wait
// never runs beside a build (kind's node image takes both cores for
// minutes); Start prepares when nobody did.
func (p *provider) Prepare(ctx context.Context) error {
	if p.eng != nil {
		return nil
	}
	e, err := engine.Detect(ctx)
	if err != nil {
		return fmt.Errorf("the container OpenSearch provider needs a running container engine: %w; start Docker or use --opensearch local", err)
	}
	p.pullable = engine.RegistryAnswers(ctx)
	if official := request(p.o).Image; p.o.Image == "" && !p.pullable && len(e.Missing(ctx, official)) > 0 {
		p.o.Log.Info("the OpenSearch image cannot be pulled (no registry answers): using one built here (cached by content)", "instead of", official)
		b, err := images.New(ctx, "", p.o.Log)
		if err != nil {
			return err
		}
		home, version, err := distribution.Fetch(ctx, p.o.CacheDir, p.o.Version, p.o.Zip)
		if err == nil {
			p.o.Image, err = b.OpenSearch(ctx, home, version)
		}
		if err != nil {
			return fmt.Errorf("%s cannot be pulled and building one here failed: %w; load an image and pass --opensearch-image", official, err)
		}
	}
	p.eng = e
	return nil
}

func (p *provider) Start(ctx context.Context) (*providers.Instance, error) {
	if err := p.Prepare(ctx); err != nil {
		return nil, err
	}
	removeOrphans(ctx, p.eng, p.o.Log)
	// testcontainers' reaper is an image too; ConfigureProcess turns it
	// off, and what a killed run leaves is removed by the next
	// (removeOrphans).
	if !p.pullable && !testcontainers.ReadConfig().Config.RyukDisabled {
		return nil, fmt.Errorf("testcontainers' reaper is on but its image cannot be pulled: no image registry answers (%s); set %s=true", engine.RegistryURL, ryukDisabled)
	}
	c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: request(p.o),
		Started:          true,
		Logger:           debugLog{p.o.Log},
	})
	if err != nil {
		if c != nil {
			_ = c.Terminate(context.Background())
		}
		return nil, fmt.Errorf("failed to start OpenSearch container %s: %w", request(p.o).Image, err)
	}
	p.c = c
	endpoint, err := c.PortEndpoint(ctx, "9200/tcp", "http")
	if err != nil {
		return nil, err
	}
	ep := providers.Endpoint{URL: endpoint}
	client, err := providers.NewClient(ctx, ep)
	if err != nil {
		return nil, err
	}
	if err := providers.WaitHealthy(ctx, client, nil); err != nil {
		return nil, err
	}
	p.o.Log.Info("OpenSearch container healthy", "image", request(p.o).Image, "url", endpoint, "network", p.o.Network)
	return &providers.Instance{Endpoint: ep, NetworkEndpoint: networkEndpoint(p.o, ep), Client: client}, nil
}

func (p *provider) Stop(ctx context.Context) error {
	if p.c == nil {
		return nil
	}
	err := p.c.Terminate(ctx)
	p.c = nil
	return err
}

// ryukDisabled is the environment variable that turns testcontainers'
// reaper off; hostOverride names the host of mapped ports.
const (
	ryukDisabled = "TESTCONTAINERS_RYUK_DISABLED"
	hostOverride = "TESTCONTAINERS_HOST_OVERRIDE"
)

// localEngine says whether DOCKER_HOST is an engine on this machine's
// socket (or the default one).
func localEngine(dockerHost string) bool {
	return dockerHost == "" || strings.HasPrefix(dockerHost, "unix://")
}

// ConfigureProcess sets, once and before any container starts, what
// testcontainers-go v0.45 reads process-wide rather than per container;
// main and TestMain call it (through opensearch.ConfigureTestcontainers).
//
// The reaper setting is read once per process from
// TESTCONTAINERS_RYUK_DISABLED or ~/.testcontainers.properties: there is no
// per-request option (ContainerRequest.SkipReaper is deprecated and
// ignored). The reaper is an image that cannot be pulled where no registry
// answers, and Start removes what a killed run left (OwnerLabel), so it is
// turned off unless the variable is set. The engine banner is printed
// through the library's global logger, not the request's: that logger is
// silenced; each container's own lines still reach our log at debug.
//
// The host of mapped ports is read the same way: in a machine that looks
// like a container (it has /.dockerenv, as ours do) testcontainers takes
// the default gateway for it, an address off this machine where nothing
// answers, and every readiness wait runs out. An engine on a local socket
// publishes its ports here, so loopback is set unless the user set one.
func ConfigureProcess() {
	if os.Getenv(ryukDisabled) == "" {
		os.Setenv(ryukDisabled, "true")
	}
	if os.Getenv(hostOverride) == "" && localEngine(os.Getenv("DOCKER_HOST")) {
		os.Setenv(hostOverride, "127.0.0.1")
	}
	tclog.SetDefault(tclog.NewNoopLogger())
}

// debugLog puts testcontainers' progress lines in our log, at debug: a
// run's output stays one line per step.
type debugLog struct{ log *slog.Logger }

func (d debugLog) Printf(format string, v ...any) {
	d.log.Debug(strings.TrimSpace(fmt.Sprintf(format, v...)), "from", "testcontainers")
}

// removeOrphans removes the OpenSearch containers of this host whose
// owning process is gone.
func removeOrphans(ctx context.Context, e *engine.Engine, log *slog.Logger) {
	host, _ := os.Hostname()
	out, err := exec.CommandContext(ctx, e.Binary, "ps", "--all", "--filter", "label="+OwnerLabel,
		"--format", `{{.ID}} {{.Label "`+OwnerLabel+`"}}`).Output()
	if err != nil {
		return
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		id, label, _ := strings.Cut(line, " ")
		h, p, _ := strings.Cut(label, "/")
		pid, err := strconv.Atoi(p)
		if h != host || err != nil || procstat.Alive(pid) {
			continue
		}
		if err := exec.CommandContext(ctx, e.Binary, "rm", "--force", "--volumes", id).Run(); err == nil {
			log.Info("removed an OpenSearch container a stopped run left", "container", id, "pid", pid)
		}
	}
}

func (p *provider) ExportLogs(ctx context.Context, dir string) error {
	if p.c == nil {
		return fmt.Errorf("OpenSearch container not running")
	}
	logs, err := p.c.Logs(ctx)
	if err != nil {
		return err
	}
	defer logs.Close()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(dir, "opensearch-container.log"))
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(f, logs)
	return err
}
