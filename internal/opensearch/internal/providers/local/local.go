// Package local runs the real OpenSearch server on this machine's JDK: the
// integration-test distribution from Maven Central, as a dedicated system
// user when we are root (OpenSearch refuses to run as root).
package local

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/opensearch/internal/distribution"
	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers"
	"github.com/eventcheck/eventcheck/internal/procstat"
)

// stopTimeout bounds Stop before SIGKILL.
const stopTimeout = 30 * time.Second

type provider struct {
	o       providers.Options
	cmd     *exec.Cmd
	exited  chan error
	runDir  string
	tempRun bool
	version string
	// secured is the CA and passwords of a start with Security.
	secured *secured
}

// New returns the local provider.
func New(o providers.Options) (providers.Provider, error) {
	o.Defaults()
	if o.CacheDir == "" {
		o.CacheDir = distribution.DefaultCacheDir()
	}
	return &provider{o: o}, nil
}

// Prepare fetches and unpacks the distribution, checks Java and creates the
// system user, without starting anything (for CI set-up and offline use).
// It returns the OpenSearch home and version.
func Prepare(ctx context.Context, o providers.Options) (home, version string, err error) {
	p, err := prepare(ctx, o)
	return p.home, p.version, err
}

// prepared is what Start needs from preparation.
type prepared struct {
	home, version, javaHome string
	user                    *runAs
}

func prepare(ctx context.Context, o providers.Options) (p prepared, err error) {
	o.Defaults()
	if o.CacheDir == "" {
		o.CacheDir = distribution.DefaultCacheDir()
	}
	if p.javaHome, _, err = FindJava(o.JavaHome); err != nil {
		return p, err
	}
	if p.user, err = ensureUser(); err != nil {
		return p, err
	}
	p.home, p.version, err = fetchAndUnpack(ctx, o, p.user, p.javaHome)
	return p, err
}

func fetchAndUnpack(ctx context.Context, o providers.Options, user *runAs, javaHome string) (home, version string, err error) {
	if o.Security {
		home, version, err = distribution.FetchSecured(ctx, o.CacheDir, o.Version, o.Zip, javaHome)
	} else {
		home, version, err = distribution.Fetch(ctx, o.CacheDir, o.Version, o.Zip)
	}
	if err != nil {
		return "", "", err
	}
	if user != nil {
		// Readable and traversable by the OpenSearch user.
		if err := os.Chmod(o.CacheDir, 0o755); err != nil {
			return "", "", err
		}
		if err := user.chownTree(home); err != nil {
			return "", "", fmt.Errorf("failed to give %s to %s: %w", home, user.name, err)
		}
	}
	return home, version, nil
}

func (p *provider) Start(ctx context.Context) (*providers.Instance, error) {
	if p.cmd != nil {
		return nil, errors.New("local OpenSearch already started")
	}
	prep, err := prepare(ctx, p.o)
	if err != nil {
		return nil, err
	}
	home, version, javaHome, user := prep.home, prep.version, prep.javaHome, prep.user
	p.version = version
	if err := p.prepareRunDir(home, user); err != nil {
		return nil, err
	}
	out, err := os.Create(filepath.Join(p.runDir, "opensearch.out"))
	if err != nil {
		return nil, err
	}
	defer out.Close()
	if err := user.chownTree(out.Name()); err != nil {
		return nil, err
	}

	cmd := exec.Command(filepath.Join(home, "bin", "opensearch"))
	cmd.Dir = p.runDir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.Env = append(distribution.CleanEnv(),
		"OPENSEARCH_JAVA_HOME="+javaHome,
		"JAVA_HOME="+javaHome,
		"OPENSEARCH_PATH_CONF="+filepath.Join(p.runDir, "config"),
		"OPENSEARCH_TMPDIR="+filepath.Join(p.runDir, "tmp"),
		"OPENSEARCH_JAVA_OPTS=-Xms"+p.o.Heap+" -Xmx"+p.o.Heap,
	)
	// Pdeathsig: the server goes when we go, even on SIGKILL; detached, it
	// gets a session of its own instead.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM, Credential: user.credential()}
	if p.o.Detach {
		if p.o.Dir == "" {
			return nil, errors.New("a detached local OpenSearch needs a directory (Dir) to record where it runs")
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Credential: user.credential()}
		procstat.InheritNothing()
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start OpenSearch %s: %w", home, err)
	}
	p.cmd = cmd
	p.exited = make(chan error, 1)
	go func() { p.exited <- cmd.Wait(); close(p.exited) }()

	ctx, cancel := context.WithTimeout(ctx, p.o.ReadyTimeout)
	defer cancel()
	inst, err := p.waitReady(ctx)
	if err != nil {
		_ = p.Stop(context.Background())
		return nil, err
	}
	if p.o.Detach {
		if err := os.WriteFile(filepath.Join(p.runDir, pidFile), []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
			return nil, err
		}
		if err := os.WriteFile(filepath.Join(p.runDir, endpointFile), []byte(inst.Endpoint.URL+"\n"), 0o644); err != nil {
			return nil, err
		}
	}
	p.o.Log.Info("local OpenSearch healthy", "version", version, "url", inst.Endpoint.URL, "elapsed", time.Since(start).Round(time.Millisecond), "runAs", runAsName(user))
	if p.secured != nil {
		// Where a person finds what to pass to --opensearch url; never the
		// passwords themselves.
		p.o.Log.Info("local OpenSearch secured", "ca", p.secured.caFile, "users", AdminUser+", "+WorkshopUser,
			"passwordFiles", filepath.Join(p.runDir, securityDir, "USER.password"))
	}
	return inst, nil
}

// Files a detached server leaves in its directory.
const (
	pidFile      = "opensearch.pid"
	endpointFile = "endpoint"
)

// Detached reports the endpoint of a detached server recorded in dir, if
// its process is alive.
func Detached(dir string) (string, int, bool) {
	pid, alive := procstat.PIDFile(filepath.Join(dir, pidFile))
	if !alive {
		return "", 0, false
	}
	url, err := os.ReadFile(filepath.Join(dir, endpointFile))
	if err != nil {
		return "", 0, false
	}
	return strings.TrimSpace(string(url)), pid, true
}

// StopDetached stops a detached server recorded in dir and waits for it.
func StopDetached(dir string) error {
	_, pid, ok := Detached(dir)
	if !ok {
		return nil
	}
	_ = syscall.Kill(-pid, syscall.SIGTERM)
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, stopTimeout, true, func(context.Context) (bool, error) {
		return !procstat.Alive(pid), nil
	})
	if err != nil {
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		return fmt.Errorf("OpenSearch (pid %d) did not stop within %s; killed it", pid, stopTimeout)
	}
	os.Remove(filepath.Join(dir, pidFile))
	os.Remove(filepath.Join(dir, endpointFile))
	return nil
}

func (p *provider) waitReady(ctx context.Context) (*providers.Instance, error) {
	portsFile := filepath.Join(p.runDir, "logs", "http.ports")
	var addr string
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for addr == "" {
		select {
		case err := <-p.exited:
			return nil, p.died(err)
		case <-ctx.Done():
			if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
				return nil, fmt.Errorf("local OpenSearch's start: %w", ctx.Err()) // interrupted, not slow
			}
			return nil, fmt.Errorf("local OpenSearch did not open its HTTP port within %s; see %s", p.o.ReadyTimeout, p.runDir)
		case <-tick.C:
			if data, err := os.ReadFile(portsFile); err == nil && strings.HasSuffix(string(data), "\n") {
				addr = strings.TrimSpace(strings.SplitN(string(data), "\n", 2)[0])
			}
		}
	}
	ep := providers.Endpoint{URL: "http://" + addr}
	var users []providers.Endpoint
	if p.secured != nil {
		var err error
		if users, err = p.secured.endpoints("https://" + addr); err != nil {
			return nil, err
		}
		ep = users[0]
	}
	client, err := providers.NewClient(ctx, ep)
	if err != nil {
		return nil, err
	}
	if err := providers.WaitHealthy(ctx, client, p.exited); err != nil {
		if strings.Contains(err.Error(), "exited") {
			return nil, p.died(nil)
		}
		return nil, fmt.Errorf("local OpenSearch at %s: %w; see %s", ep.URL, err, p.runDir)
	}
	return &providers.Instance{Endpoint: ep, Client: client, Users: users}, nil
}

// died explains an early exit with the end of the server's output.
func (p *provider) died(err error) error {
	out, _ := os.ReadFile(filepath.Join(p.runDir, "opensearch.out"))
	return fmt.Errorf("local OpenSearch exited during start-up (%v); last lines of its output (%s):\n%s", err, p.runDir, logtail.Lines(string(out), 20))
}

// prepareRunDir lays out config, data, logs and tmp for one run.
func (p *provider) prepareRunDir(home string, user *runAs) error {
	if p.o.Dir != "" {
		p.runDir = p.o.Dir
		if err := os.MkdirAll(p.runDir, 0o755); err != nil {
			return fmt.Errorf("OpenSearch data directory %s cannot be created: %w; choose a writable --opensearch-dir", p.runDir, err)
		}
		if err := user.checkReachable(p.runDir); err != nil {
			return err
		}
	} else {
		dir, err := os.MkdirTemp("", "eventcheck-opensearch-")
		if err != nil {
			return err
		}
		p.runDir, p.tempRun = dir, true
	}
	probe := filepath.Join(p.runDir, ".write-test")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return fmt.Errorf("OpenSearch data directory %s is not writable: %w; choose a writable --opensearch-dir", p.runDir, err)
	}
	os.Remove(probe)
	// config, logs and tmp are per start; data survives a restart.
	for _, d := range []string{"config", "logs", "tmp"} {
		if err := os.RemoveAll(filepath.Join(p.runDir, d)); err != nil {
			return err
		}
	}
	for _, d := range []string{"config", "data", "logs", "tmp"} {
		if err := os.MkdirAll(filepath.Join(p.runDir, d), 0o755); err != nil {
			return err
		}
	}
	if err := os.CopyFS(filepath.Join(p.runDir, "config"), os.DirFS(filepath.Join(home, "config"))); err != nil {
		return fmt.Errorf("failed to copy OpenSearch config: %w", err)
	}
	settings := strings.Join([]string{
		"cluster.name: eventcheck",
		"node.name: eventcheck-local",
		"discovery.type: single-node",
		"network.host: 127.0.0.1",
		// Free ports, reported in logs/http.ports, so runs never collide
		// (unless a port was asked for).
		"http.port: " + strconv.Itoa(p.o.Port),
		"transport.port: 0",
		"node.portsfile: true",
		"path.data: " + filepath.Join(p.runDir, "data"),
		"path.logs: " + filepath.Join(p.runDir, "logs"),
		// Developer disks are often more than 85% full; a test index must
		// still get its shards.
		"cluster.routing.allocation.disk.threshold_enabled: false",
		"",
	}, "\n")
	p.secured = nil
	if p.o.Security {
		s, err := ensureSecurity(p.runDir)
		if err != nil {
			return err
		}
		if err := writeSecurityConfig(filepath.Join(p.runDir, "config"), s); err != nil {
			return err
		}
		p.secured = s
		settings += strings.Join(securitySettings, "\n") + "\n"
	}
	if err := os.WriteFile(filepath.Join(p.runDir, "config", "opensearch.yml"), []byte(settings), 0o644); err != nil {
		return err
	}
	if user != nil {
		if err := os.Chmod(p.runDir, 0o755); err != nil {
			return err
		}
		if err := user.chownTree(p.runDir); err != nil {
			return fmt.Errorf("failed to give %s to %s: %w", p.runDir, user.name, err)
		}
	}
	return nil
}

// Stop terminates the server and waits for it; a temporary run directory
// is removed.
func (p *provider) Stop(context.Context) error {
	if p.cmd == nil {
		return nil
	}
	procstat.StopGroup(p.cmd.Process.Pid, p.exited, stopTimeout)
	p.cmd = nil
	if p.tempRun {
		return os.RemoveAll(p.runDir)
	}
	return nil
}

// Pid is the server's process id (0 when not running), for tests.
func (p *provider) Pid() int {
	if p.cmd == nil {
		return 0
	}
	return p.cmd.Process.Pid
}

func (p *provider) ExportLogs(_ context.Context, dir string) error {
	if p.runDir == "" {
		return errors.New("local OpenSearch was not started")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	logs, _ := filepath.Glob(filepath.Join(p.runDir, "logs", "*.log"))
	logs = append(logs, filepath.Join(p.runDir, "opensearch.out"))
	var errs []error
	for _, src := range logs {
		data, err := os.ReadFile(src)
		if err != nil {
			continue
		}
		if err := os.WriteFile(filepath.Join(dir, "opensearch-"+filepath.Base(src)), data, 0o644); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func runAsName(u *runAs) string {
	if u == nil {
		return "current user"
	}
	return u.name
}
