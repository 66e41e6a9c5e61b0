// Package process runs any exporter binary as a process on this machine
// against the cluster: how a third-party exporter (the upstream one a
// workshop installs, built from its source) is tested on the local
// cluster, whose nodes run no containers. Its config is the content's,
// rendered to a private file with only the OpenSearch endpoint replaced;
// it authenticates as the exporter's ServiceAccount, so the RBAC the
// content would grant it is exercised.
package process

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/eventcheck/eventcheck/internal/exporterenv"
	"github.com/eventcheck/eventcheck/internal/exporters/internal/providers"
	"github.com/eventcheck/eventcheck/internal/exportervalues"
	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/procstat"
)

// Placeholders in the command.
const (
	ConfigPlaceholder     = "{config}"
	KubeconfigPlaceholder = "{kubeconfig}"
)

// stopGrace is how long the process has to exit after SIGTERM.
const stopGrace = 10 * time.Second

type provider struct {
	o        providers.Options
	defaults func() (*exportervalues.Values, error)
	cmd      *exec.Cmd
	done     chan error
	dir      string
}

// New returns the process backend; defaults supplies the config when the
// content gives none.
func New(o providers.Options, defaults func() (*exportervalues.Values, error)) providers.Provider {
	return &provider{o: o, defaults: defaults}
}

func (p *provider) Start(ctx context.Context, t providers.Target) (*providers.Running, error) {
	p.o.Defaults()
	if len(p.o.Command) == 0 {
		return nil, fmt.Errorf("--exporter process needs --exporter-command, e.g. \"kubernetes-event-exporter -conf {config}\" (%w)", providers.ErrUsage)
	}
	values, index, err := p.o.Content(p.defaults)
	if err != nil {
		return nil, err
	}
	// The rendered config may hold a password: a private directory.
	if p.dir, err = os.MkdirTemp("", "eventcheck-exporter-"); err != nil {
		return nil, err
	}
	if err := exporterenv.ApplyRBAC(ctx, t.REST); err != nil {
		return nil, fmt.Errorf("exporter RBAC: %w", err)
	}
	sa, err := exporterenv.ServiceAccountConfig(ctx, t.REST, 24*time.Hour)
	if err != nil {
		return nil, err
	}
	kubeconfig, err := exporterenv.WriteKubeconfig(sa, p.dir)
	if err != nil {
		return nil, err
	}
	rendered, err := values.ForEndpoint(exportervalues.Endpoint{Endpoint: t.Endpoint})
	if err != nil {
		return nil, err
	}
	data, err := rendered.ExporterConfig()
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(p.dir, "config.yaml")
	if err := os.WriteFile(cfgPath, data, 0o600); err != nil {
		return nil, err
	}
	args := make([]string, len(p.o.Command))
	for i, a := range p.o.Command {
		args[i] = strings.NewReplacer(ConfigPlaceholder, cfgPath, KubeconfigPlaceholder, kubeconfig).Replace(a)
	}
	r := &providers.Running{Index: index, KeyedByUID: values.KeyedByUID(false), Log: &logtail.Buffer{}}
	p.cmd = exec.Command(args[0], args[1:]...)
	p.cmd.Dir = p.dir
	p.cmd.Stdout, p.cmd.Stderr = r.Log, r.Log
	p.cmd.Env = append(os.Environ(), "KUBECONFIG="+kubeconfig)
	// It dies with us, and its children with it.
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := p.cmd.Start(); err != nil {
		return nil, fmt.Errorf("failed to start the exporter %q: %w", args[0], err)
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait(); close(p.done) }()
	p.o.Log.Info("exporter process started", "command", args[0], "pid", p.cmd.Process.Pid, "index", index)
	return r, p.waitExporting(ctx, t, r)
}

// waitExporting waits for the process's first document; its exit ends
// the wait with its output.
func (p *provider) waitExporting(ctx context.Context, t providers.Target, r *providers.Running) error {
	return providers.WaitExporting(ctx, t, r.Index, "exporter process", p.o.ReadyTimeout, p.o.Log, func() error {
		select {
		case err := <-p.done:
			return fmt.Errorf("the exporter process exited (%v); its output:\n%s", err, r.Log.Tail(20))
		default:
			return nil
		}
	})
}

// Stop ends the process (SIGTERM, then SIGKILL after a grace period) and
// removes its private directory.
func (p *provider) Stop(context.Context) error {
	var errs []error
	if p.cmd != nil && p.cmd.Process != nil {
		procstat.StopGroup(p.cmd.Process.Pid, p.done, stopGrace)
		p.cmd = nil
	}
	if p.dir != "" {
		errs = append(errs, os.RemoveAll(p.dir))
		p.dir = ""
	}
	return errors.Join(errs...)
}
