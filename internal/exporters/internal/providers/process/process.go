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

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/eventcheck/eventcheck/internal/eventindex"
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

// waitExporting creates a probe Event in namespace default and waits for
// its document: the exporter is then watching and writing. A route that
// drops the probe's namespace is no error: the run goes on and its checks
// tell.
func (p *provider) waitExporting(ctx context.Context, t providers.Target, r *providers.Running) error {
	now := metav1.NewTime(time.Now())
	probe := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "eventcheck-probe." + rand.String(8), Namespace: metav1.NamespaceDefault},
		InvolvedObject: corev1.ObjectReference{Kind: "Namespace", Name: metav1.NamespaceDefault, APIVersion: "v1"},
		Type:           corev1.EventTypeNormal, Reason: "ExporterProbe", Message: "eventcheck checks that the exporter under test writes events",
		Source: corev1.EventSource{Component: "eventcheck"}, FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	created, err := t.Kube.CoreV1().Events(probe.Namespace).Create(ctx, probe, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating the probe event: %w", err)
	}
	defer func() {
		_ = t.Kube.CoreV1().Events(probe.Namespace).Delete(context.WithoutCancel(ctx), created.Name, metav1.DeleteOptions{})
	}()
	search := eventindex.NewSearcher(t.Client, r.Index)
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, p.o.ReadyTimeout, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-p.done:
			return false, fmt.Errorf("the exporter process exited (%v); its output:\n%s", err, r.Log.Tail(20))
		default:
		}
		counts, err := search.CountByUID(ctx, []string{string(created.UID)})
		return err == nil && counts[string(created.UID)] > 0, nil
	})
	switch {
	case err == nil:
		p.o.Log.Info("exporter process exports", "probe", types.NamespacedName{Namespace: probe.Namespace, Name: created.Name})
		return nil
	case wait.Interrupted(err) && ctx.Err() == nil:
		p.o.Log.Warn("the exporter process wrote no document for the probe event in namespace default; going on (its route may drop that namespace)",
			"index", r.Index, "waited", p.o.ReadyTimeout, "output", r.Log.Tail(5))
		return nil
	}
	return err
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
