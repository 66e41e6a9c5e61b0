// Package local runs a cluster made of real Kubernetes components on this
// machine without containers, by supervising the localcluster binary (the
// nested module in localcluster/).
package local

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers"
	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/procstat"
)

// Files the localcluster supervisor writes in its directory.
const (
	kubeconfigFile = "kubeconfig"
	readyFile      = "ready"
	pidFile        = "pid"
	imagesFile     = "images"
	logsDir        = "logs"
	supervisorLog  = "supervisor.log"
	// apiServerPIDFile is the running kube-apiserver's pid; the
	// supervisor starts a new one when it exits, on the same etcd.
	apiServerPIDFile = "kube-apiserver.pid"
)

// restartBound bounds RestartAPIServer: the old process's drain and the
// new one's start, a few seconds each here.
const restartBound = 2 * time.Minute

// apiServerGrace is how long a stopped kube-apiserver may drain.
const apiServerGrace = 10 * time.Second

// stopTimeout bounds Down: the supervisor gives its children 10s.
const stopTimeout = 30 * time.Second

type provider struct {
	o   providers.Options
	dir string
}

// New returns the local provider. Dir defaults to the user's cache
// directory (eventcheck/local/<name>).
func New(o providers.Options) (providers.Provider, error) {
	o.Defaults()
	dir := o.Dir
	if dir == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			return nil, fmt.Errorf("failed to find a directory for the local cluster (set --cluster-dir): %w", err)
		}
		dir = filepath.Join(cache, "eventcheck", "local", o.Name)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	// A binary named but missing is refused now, before anything (an
	// OpenSearch started beside the cluster) is up.
	if bin := cmp.Or(o.Binary, os.Getenv("EVENTCHECK_LOCALCLUSTER")); bin != "" {
		if err := checkExecutable(bin); err != nil {
			return nil, fmt.Errorf("localcluster binary %s: %w; build it with `make localcluster` or fix the path", bin, err)
		}
	}
	return &provider{o: o, dir: abs}, nil
}

func (p *provider) Kubeconfig() string { return filepath.Join(p.dir, kubeconfigFile) }

func (p *provider) RESTConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", p.Kubeconfig())
	if err != nil {
		return nil, fmt.Errorf("failed to load local cluster kubeconfig: %w", err)
	}
	return cfg, nil
}

// Running reports whether a ready cluster is running in the directory.
func (p *provider) Running(context.Context) bool {
	if _, err := os.Stat(filepath.Join(p.dir, readyFile)); err != nil {
		return false
	}
	_, alive := p.pid()
	return alive
}

func (p *provider) pid() (int, bool) { return procstat.PIDFile(filepath.Join(p.dir, pidFile)) }

func (p *provider) Up(ctx context.Context) error {
	if p.Running(ctx) {
		p.o.Log.Info("reusing running local cluster", "dir", p.dir)
		return nil
	}
	bin, err := binary(ctx, p.o.Binary, p.o.Log)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p.dir, 0o755); err != nil {
		return fmt.Errorf("local cluster directory %s cannot be created: %w; choose a writable --cluster-dir", p.dir, err)
	}
	logPath := filepath.Join(p.dir, supervisorLog)
	logFile, err := os.Create(logPath)
	if err != nil {
		return fmt.Errorf("local cluster directory %s is not writable: %w; choose a writable --cluster-dir", p.dir, err)
	}
	defer logFile.Close()

	args := []string{"up", "--dir", p.dir, "--nodes", strconv.Itoa(p.o.Nodes),
		"--ready-timeout", p.o.ReadyTimeout.String()}
	if p.o.APIServerPort != 0 {
		args = append(args, "--apiserver-port", strconv.Itoa(p.o.APIServerPort))
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if p.o.Detach {
		cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
		procstat.InheritNothing()
	} else {
		// If this process dies the cluster goes too: no orphans.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	}
	// Remove stale markers so we only see this run's.
	os.Remove(filepath.Join(p.dir, readyFile))
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("failed to start %s: %w", bin, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	timeout := time.NewTimer(p.o.ReadyTimeout + 10*time.Second)
	defer timeout.Stop()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case err := <-exited:
			return fmt.Errorf("local cluster failed to start (%v); last lines of %s:\n%s", err, logPath, logtail.File(logPath, 15))
		case <-timeout.C:
			_ = cmd.Process.Signal(syscall.SIGTERM)
			return fmt.Errorf("local cluster not ready after %s; see %s and %s", p.o.ReadyTimeout, logPath, filepath.Join(p.dir, logsDir))
		case <-ctx.Done():
			_ = cmd.Process.Signal(syscall.SIGTERM)
			<-exited
			return ctx.Err()
		case <-tick.C:
			if _, err := os.Stat(filepath.Join(p.dir, readyFile)); err == nil {
				p.o.Log.Info("local cluster ready", "dir", p.dir, "nodes", p.o.Nodes, "elapsed", time.Since(start).Round(time.Millisecond))
				if p.o.Detach {
					_ = cmd.Process.Release()
				}
				return nil
			}
		}
	}
}

// Down stops the supervisor, which stops every component, and waits until
// it is gone.
func (p *provider) Down(ctx context.Context) error {
	pid, alive := p.pid()
	if !alive {
		return nil
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("failed to stop local cluster (pid %d): %w", pid, err)
	}
	err := wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, stopTimeout, true, func(context.Context) (bool, error) {
		return !procstat.Alive(pid), nil
	})
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return ctx.Err()
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	return fmt.Errorf("local cluster (pid %d) did not stop within %s; killed it", pid, stopTimeout)
}

func (p *provider) ExportLogs(_ context.Context, dir string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	srcs, _ := filepath.Glob(filepath.Join(p.dir, logsDir, "*.log"))
	srcs = append(srcs, filepath.Join(p.dir, supervisorLog))
	var errs []error
	for _, src := range srcs {
		if err := copyFile(src, filepath.Join(dir, filepath.Base(src))); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// LoadImageArchive adds the archive's tags to the nodes' offline registry:
// the nodes simulate their runtime, so there is nothing else to load.
func (p *provider) LoadImageArchive(_ context.Context, path string) error {
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(path) })
	if err != nil {
		return fmt.Errorf("failed to read image archive %s (want a `docker save` style tarball): %w", path, err)
	}
	var tags []string
	for _, d := range m {
		tags = append(tags, d.RepoTags...)
	}
	if len(tags) == 0 {
		return fmt.Errorf("image archive %s has no tagged image", path)
	}
	f, err := os.OpenFile(filepath.Join(p.dir, imagesFile), os.O_APPEND|os.O_WRONLY|os.O_CREATE, 0o644)
	if err != nil {
		return fmt.Errorf("failed to update the local cluster's image list: %w", err)
	}
	defer f.Close()
	_, err = f.WriteString(strings.Join(tags, "\n") + "\n")
	return err
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o644)
}

// RestartAPIServer stops the kube-apiserver process (SIGTERM, as a real
// restart does) and returns once the supervisor's next one is ready: its
// pid is another, and /readyz answers ok. etcd, in the supervisor, keeps
// every object.
func (p *provider) RestartAPIServer(ctx context.Context) error {
	file := filepath.Join(p.dir, apiServerPIDFile)
	old, alive := procstat.PIDFile(file)
	if !alive {
		return fmt.Errorf("no kube-apiserver runs in %s (%s): is the local cluster up, from a localcluster binary that restarts it (make localcluster)?", p.dir, file)
	}
	cfg, err := p.RESTConfig()
	if err != nil {
		return err
	}
	cfg.Timeout = 2 * time.Second
	client, err := rest.UnversionedRESTClientFor(withoutCodec(cfg))
	if err != nil {
		return err
	}
	start := time.Now()
	if err := syscall.Kill(old, syscall.SIGTERM); err != nil {
		return fmt.Errorf("failed to stop kube-apiserver (pid %d): %w", old, err)
	}
	// Its graceful shutdown waits up to a minute on open connections; a
	// kubelet gives a control-plane pod a grace period, then kills it.
	// So does this, with the supervisor's own stop grace.
	if wait.PollUntilContextTimeout(ctx, 50*time.Millisecond, apiServerGrace, true, func(context.Context) (bool, error) {
		return !procstat.Alive(old), nil
	}) != nil {
		_ = syscall.Kill(old, syscall.SIGKILL)
	}
	var last string
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, restartBound, true, func(ctx context.Context) (bool, error) {
		pid, alive := procstat.PIDFile(file)
		if !alive || pid == old {
			last = "the old kube-apiserver still runs, or no new one yet"
			return false, nil
		}
		body, err := client.Get().AbsPath("/readyz").DoRaw(ctx)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		return string(body) == "ok", nil
	})
	if err != nil {
		return fmt.Errorf("kube-apiserver not serving again within %s of its restart (last: %s); see %s", restartBound, last, filepath.Join(p.dir, logsDir, "kube-apiserver.log"))
	}
	p.o.Log.Info("kube-apiserver restarted", "old pid", old, "elapsed", time.Since(start).Round(time.Millisecond))
	return nil
}

// withoutCodec is cfg for a raw client of /readyz.
func withoutCodec(cfg *rest.Config) *rest.Config {
	c := rest.CopyConfig(cfg)
	c.NegotiatedSerializer = scheme.Codecs.WithoutConversion()
	return c
}
