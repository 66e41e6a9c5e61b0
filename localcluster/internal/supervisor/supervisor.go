// Package supervisor brings up a whole local cluster: PKI, embedded etcd,
// kube-apiserver, kube-controller-manager, kube-scheduler and simulated
// nodes, each component a child process of this same binary. It waits until
// the cluster is usable, writes the admin kubeconfig and a ready marker, and
// tears everything down on SIGTERM or when any component dies.
package supervisor

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/eventcheck/eventcheck/localcluster/internal/pki"
)

// File names inside the cluster directory that clients rely on.
const (
	KubeconfigFile = "kubeconfig"
	ReadyFile      = "ready"
	PIDFile        = "pid"
	ImagesFile     = "images"
	LogsDir        = "logs"
	// APIServerPIDFile holds the running kube-apiserver's pid: stopping
	// that process is a restart of the API server alone (Run starts it
	// again on the same etcd data), as on a real control plane.
	APIServerPIDFile = "kube-apiserver.pid"
)

// maxAPIServerRestarts bounds the restarts of one run: an API server that
// keeps exiting is a failure to report, not to hide.
const maxAPIServerRestarts = 20

const (
	serviceCIDR = "10.96.0.0/16"
	clusterDNS  = "10.96.0.10"
)

// Config is the whole cluster.
type Config struct {
	Dir           string
	Nodes         int
	NodeCPU       resource.Quantity
	NodeMemory    resource.Quantity
	Images        []string
	APIServerPort int // 0 picks a free port
	ReadyTimeout  time.Duration
	Log           *slog.Logger
}

type child struct {
	name string
	cmd  *exec.Cmd
	done chan error
	log  string
}

// Run brings the cluster up and blocks until ctx ends (then tears down and
// returns nil) or a component fails (then tears down and returns why).
func Run(ctx context.Context, c Config) error {
	if c.Nodes < 1 {
		return fmt.Errorf("--nodes must be at least 1, got %d", c.Nodes)
	}
	dir, err := prepareDir(c.Dir)
	if err != nil {
		return err
	}
	c.Dir = dir
	log := c.Log

	apiPort := c.APIServerPort
	if apiPort != 0 {
		if err := checkPortFree(apiPort); err != nil {
			return fmt.Errorf("apiserver port %d is already in use (%v): choose another --apiserver-port or 0 for a free one", apiPort, err)
		}
	}
	ports, err := freePorts(3 + c.Nodes)
	if err != nil {
		return err
	}
	if apiPort == 0 {
		apiPort = ports[0]
	}
	etcdClient, etcdPeer, kubeletPorts := ports[1], ports[2], ports[3:]
	server := "https://127.0.0.1:" + strconv.Itoa(apiPort)

	ids := []pki.Identity{
		{File: "admin", User: "kubernetes-admin", Groups: []string{"system:masters"}},
		{File: "controller-manager", User: "system:kube-controller-manager"},
		{File: "scheduler", User: "system:kube-scheduler"},
	}
	for i := range c.Nodes {
		ids = append(ids, pki.Identity{File: nodeName(i), User: "system:node:" + nodeName(i), Groups: []string{"system:nodes"}})
	}
	certs, err := pki.Generate(filepath.Join(dir, "pki"), server, net.ParseIP("10.96.0.1"), ids)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, ImagesFile), []byte(strings.Join(c.Images, "\n")+"\n"), 0o644); err != nil {
		return fmt.Errorf("failed to write image allowlist: %w", err)
	}

	start := time.Now()
	etcd, err := startEtcd(dir, etcdClient, etcdPeer)
	if err != nil {
		return err
	}
	defer etcd.Close()
	log.Info("etcd ready", "url", fmt.Sprintf("http://127.0.0.1:%d", etcdClient), "elapsed", time.Since(start).Round(time.Millisecond))

	self, err := os.Executable()
	if err != nil {
		return err
	}
	var children []*child
	// mu guards children once the API server's restarts may replace it;
	// stopping ends the restarts before the children are stopped.
	var mu sync.Mutex
	runCtx, stopping := context.WithCancel(ctx)
	defer func() {
		stopping()
		mu.Lock()
		defer mu.Unlock()
		stopAll(log, children)
	}()
	// spawn runs "self args..." with its output in logs/<name>.log.
	spawn := func(name string, args ...string) error {
		ch, err := startChild(dir, self, name, args)
		if err != nil {
			return err
		}
		children = append(children, ch)
		return nil
	}

	apiArgs := []string{"kube-apiserver",
		"--etcd-servers=http://127.0.0.1:" + strconv.Itoa(etcdClient),
		"--bind-address=127.0.0.1",
		"--advertise-address=127.0.0.1",
		"--secure-port=" + strconv.Itoa(apiPort),
		"--tls-cert-file=" + certs.ServingCert,
		"--tls-private-key-file=" + certs.ServingKey,
		"--client-ca-file=" + certs.CACert,
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file=" + certs.ServiceAccountPub,
		"--service-account-signing-key-file=" + certs.ServiceAccountKey,
		"--service-cluster-ip-range=" + serviceCIDR,
		"--authorization-mode=Node,RBAC",
		"--enable-admission-plugins=NodeRestriction",
		// The apiserver binds loopback: it must not publish that address as
		// the kubernetes Service endpoint.
		"--endpoint-reconciler-type=none",
		"--allow-privileged=true",
		"--cert-dir=" + filepath.Join(dir, "pki", "apiserver-generated"),
	}
	if err := spawn("kube-apiserver", apiArgs...); err != nil {
		return err
	}
	if err := writePID(dir, children[0]); err != nil {
		return err
	}
	// The controllers pick their APIs from discovery when they start: the
	// scheduler writes its events through events.k8s.io/v1 only if it is
	// served then (as on a real cluster, where those events carry
	// eventTime and no lastTimestamp). So they start once the apiserver
	// serves every group.
	apiCtx, cancelAPI := context.WithTimeout(ctx, c.ReadyTimeout)
	err = waitAPIServed(apiCtx, certs.Kubeconfigs["admin"], children[0])
	cancelAPI()
	if err != nil {
		return fmt.Errorf("%w (component logs in %s)", err, filepath.Join(dir, LogsDir))
	}
	if err := spawn("kube-controller-manager", "kube-controller-manager",
		"--kubeconfig="+certs.Kubeconfigs["controller-manager"],
		"--secure-port=0",
		"--leader-elect=false",
		"--use-service-account-credentials=true",
		"--service-account-private-key-file="+certs.ServiceAccountKey,
		"--root-ca-file="+certs.CACert,
		"--cluster-signing-cert-file="+certs.CACert,
		"--cluster-signing-key-file="+certs.CAKey,
		"--service-cluster-ip-range="+serviceCIDR,
		// Start-up issues a burst of requests (a ServiceAccount and token
		// per controller); the default client QPS of 20 throttles it for
		// seconds on a cluster that has nothing else to do.
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		// Notice node readiness (and clear the not-ready taints) within a
		// second rather than five.
		"--node-monitor-period=1s",
	); err != nil {
		return err
	}
	if err := spawn("kube-scheduler", "kube-scheduler",
		"--kubeconfig="+certs.Kubeconfigs["scheduler"],
		"--kube-api-qps=200",
		"--kube-api-burst=400",
		"--secure-port=0",
		"--leader-elect=false",
	); err != nil {
		return err
	}
	for i := range c.Nodes {
		name := nodeName(i)
		if err := spawn(name, "kubelet",
			"--name="+name,
			"--kubeconfig="+certs.Kubeconfigs[name],
			"--dir="+filepath.Join(dir, "nodes", name),
			"--port="+strconv.Itoa(kubeletPorts[i]),
			"--cpu="+c.NodeCPU.String(),
			"--memory="+c.NodeMemory.String(),
			"--cluster-dns="+clusterDNS,
			"--images-file="+filepath.Join(dir, ImagesFile),
		); err != nil {
			return err
		}
	}

	kubeconfig := filepath.Join(dir, KubeconfigFile)
	if err := copyFile(certs.Kubeconfigs["admin"], kubeconfig); err != nil {
		return err
	}
	failed := make(chan error, len(children))
	for _, ch := range children[1:] {
		go func() {
			err := <-ch.done
			failed <- fmt.Errorf("%s exited (%v); last lines of %s:\n%s", ch.name, err, ch.log, tail(ch.log, 20))
		}()
	}
	go func() {
		api := children[0]
		for restarts := 0; ; restarts++ {
			err := <-api.done
			mu.Lock()
			if runCtx.Err() != nil {
				mu.Unlock()
				return
			}
			if restarts == maxAPIServerRestarts {
				mu.Unlock()
				failed <- fmt.Errorf("kube-apiserver exited %d times (last: %v); last lines of %s:\n%s", restarts+1, err, api.log, tail(api.log, 20))
				return
			}
			log.Info("kube-apiserver exited; starting it again on the same etcd", "exit", fmt.Sprint(err))
			next, startErr := startChild(dir, self, "kube-apiserver", apiArgs)
			if startErr == nil {
				children[0], api = next, next
				startErr = writePID(dir, next)
			}
			mu.Unlock()
			if startErr != nil {
				failed <- fmt.Errorf("kube-apiserver exited (%v) and could not be started again: %w", err, startErr)
				return
			}
		}
	}()

	readyCtx, cancel := context.WithTimeout(ctx, c.ReadyTimeout)
	defer cancel()
	readyErr := make(chan error, 1)
	go func() { readyErr <- waitReady(readyCtx, kubeconfig, c.Nodes) }()
	select {
	case err := <-failed:
		return err
	case err := <-readyErr:
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("cluster not ready within %s: %w (component logs in %s)", c.ReadyTimeout, err, filepath.Join(dir, LogsDir))
		}
	}
	if err := os.WriteFile(filepath.Join(dir, ReadyFile), []byte(time.Now().Format(time.RFC3339Nano)+"\n"), 0o644); err != nil {
		return err
	}
	log.Info("cluster ready", "kubeconfig", kubeconfig, "server", server, "nodes", c.Nodes, "elapsed", time.Since(start).Round(time.Millisecond))

	select {
	case <-ctx.Done():
		log.Info("stopping cluster")
		os.Remove(filepath.Join(dir, ReadyFile))
		return nil
	case err := <-failed:
		os.Remove(filepath.Join(dir, ReadyFile))
		return err
	}
}

func nodeName(i int) string { return fmt.Sprintf("node-%d", i+1) }

// prepareDir makes dir usable for a fresh cluster: it must be writable and
// not in use by a running cluster. Old state is removed.
func prepareDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("--dir is required: the directory that holds the cluster's state")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(abs, 0o755); err != nil {
		return "", fmt.Errorf("cluster directory %s cannot be created: %w; choose a writable --dir", abs, err)
	}
	probe := filepath.Join(abs, ".write-test")
	if err := os.WriteFile(probe, nil, 0o600); err != nil {
		return "", fmt.Errorf("cluster directory %s is not writable: %w; choose a writable --dir", abs, err)
	}
	os.Remove(probe)
	if pid, alive := RunningPID(abs); alive {
		return "", fmt.Errorf("a cluster is already running in %s (pid %d): stop it (kill -TERM %d) or use another --dir", abs, pid, pid)
	}
	for _, old := range []string{"etcd", "nodes", "pki", LogsDir, ReadyFile, KubeconfigFile, APIServerPIDFile} {
		if err := os.RemoveAll(filepath.Join(abs, old)); err != nil {
			return "", fmt.Errorf("failed to clear old state in %s: %w", abs, err)
		}
	}
	if err := os.MkdirAll(filepath.Join(abs, LogsDir), 0o755); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(abs, PIDFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return "", err
	}
	return abs, nil
}

// RunningPID reports the supervisor pid recorded in dir and whether it is
// alive.
func RunningPID(dir string) (int, bool) {
	data, err := os.ReadFile(filepath.Join(dir, PIDFile))
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 || pid == os.Getpid() {
		return pid, false
	}
	return pid, syscall.Kill(pid, 0) == nil
}

func startEtcd(dir string, clientPort, peerPort int) (*embed.Etcd, error) {
	cfg := embed.NewConfig()
	cfg.Name = "local"
	cfg.Dir = filepath.Join(dir, "etcd")
	clientURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(clientPort)}
	peerURL := url.URL{Scheme: "http", Host: "127.0.0.1:" + strconv.Itoa(peerPort)}
	cfg.ListenClientUrls = []url.URL{clientURL}
	cfg.AdvertiseClientUrls = []url.URL{clientURL}
	cfg.ListenPeerUrls = []url.URL{peerURL}
	cfg.AdvertisePeerUrls = []url.URL{peerURL}
	cfg.InitialCluster = cfg.InitialClusterFromName(cfg.Name)
	cfg.LogOutputs = []string{filepath.Join(dir, LogsDir, "etcd.log")}
	// A throwaway test cluster: durability across power loss buys nothing
	// and fsync dominates start-up on slow disks.
	cfg.UnsafeNoFsync = true
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		return nil, fmt.Errorf("failed to start embedded etcd on 127.0.0.1:%d: %w", clientPort, err)
	}
	select {
	case <-e.Server.ReadyNotify():
		return e, nil
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedded etcd failed: %w", err)
	case <-time.After(60 * time.Second):
		e.Close()
		return nil, errors.New("embedded etcd not ready after 60s")
	}
}

func startChild(dir, self, name string, args []string) (*child, error) {
	logPath := filepath.Join(dir, LogsDir, name+".log")
	// Appended to: a restarted API server's log follows its last run's.
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("failed to create log %s: %w", logPath, err)
	}
	cmd := exec.Command(self, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.Dir = dir
	// Children die with us even on SIGKILL, so nothing is orphaned.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
	if err := cmd.Start(); err != nil {
		logFile.Close()
		return nil, fmt.Errorf("failed to start %s: %w", name, err)
	}
	ch := &child{name: name, cmd: cmd, done: make(chan error, 1), log: logPath}
	go func() {
		err := cmd.Wait()
		logFile.Close()
		ch.done <- err
		close(ch.done)
	}()
	return ch, nil
}

// stopAll stops the apiserver's clients (nodes, scheduler, controller
// manager) first and the apiserver last, so nothing holds watches open on it
// while it drains. Each group gets SIGTERM, then SIGKILL after a grace period.
func stopAll(log *slog.Logger, children []*child) {
	var clients, servers []*child
	for _, ch := range children {
		if ch.name == "kube-apiserver" {
			servers = append(servers, ch)
		} else {
			clients = append(clients, ch)
		}
	}
	stopGroup(log, clients)
	stopGroup(log, servers)
}

func stopGroup(log *slog.Logger, group []*child) {
	for _, ch := range group {
		_ = syscall.Kill(-ch.cmd.Process.Pid, syscall.SIGTERM)
	}
	grace, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, ch := range group {
		select {
		case <-ch.done:
		case <-grace.Done():
			log.Warn("component did not stop in time; killing", "component", ch.name)
			_ = syscall.Kill(-ch.cmd.Process.Pid, syscall.SIGKILL)
			<-ch.done
		}
	}
}

// adminClient talks to the apiserver with a short per-request timeout, for
// readiness polls.
func adminClient(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, err
	}
	cfg.Timeout = 5 * time.Second
	return kubernetes.NewForConfig(cfg)
}

// waitAPIServed returns once the apiserver is ready and discovery serves
// every group, events.k8s.io/v1 among them; it fails at once if the
// apiserver exits.
func waitAPIServed(ctx context.Context, kubeconfig string, apiserver *child) error {
	client, err := adminClient(kubeconfig)
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		select {
		case err := <-apiserver.done:
			return false, fmt.Errorf("kube-apiserver exited (%v); last lines of %s:\n%s", err, apiserver.log, tail(apiserver.log, 20))
		default:
		}
		if body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
			last = fmt.Errorf("apiserver not ready: %v %s", err, body)
			return false, nil
		}
		// A partial answer (some aggregated group failing) is not served.
		if _, err := client.Discovery().ServerResourcesForGroupVersion("events.k8s.io/v1"); err != nil {
			last = fmt.Errorf("events.k8s.io/v1 not served yet: %w", err)
			return false, nil
		}
		if _, _, err := client.Discovery().ServerGroupsAndResources(); err != nil {
			last = fmt.Errorf("discovery incomplete: %w", err)
			return false, nil
		}
		return true, nil
	})
	if err != nil && last != nil && wait.Interrupted(err) {
		return fmt.Errorf("the apiserver did not serve every API group in time: %w", last)
	}
	return err
}

// waitReady returns when the apiserver is ready, every node is Ready and
// untainted, and the default ServiceAccount exists (pods can be created).
func waitReady(ctx context.Context, kubeconfig string, nodes int) error {
	client, err := adminClient(kubeconfig)
	if err != nil {
		return err
	}
	var last error
	err = wait.PollUntilContextCancel(ctx, 100*time.Millisecond, true, func(ctx context.Context) (bool, error) {
		last = clusterReady(ctx, client, nodes)
		return last == nil, nil
	})
	if err != nil && last != nil {
		return last
	}
	return err
}

func clusterReady(ctx context.Context, client kubernetes.Interface, want int) error {
	if body, err := client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx); err != nil {
		return fmt.Errorf("apiserver not ready: %v %s", err, body)
	}
	list, err := client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	ready := 0
	for _, n := range list.Items {
		if nodeReady(&n) {
			ready++
		}
	}
	if ready < want {
		return fmt.Errorf("%d of %d nodes ready and untainted", ready, want)
	}
	if _, err := client.CoreV1().ServiceAccounts("default").Get(ctx, "default", metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return errors.New("default ServiceAccount not created yet")
		}
		return err
	}
	return nil
}

func nodeReady(n *corev1.Node) bool {
	for _, t := range n.Spec.Taints {
		if t.Key == corev1.TaintNodeNotReady {
			return false
		}
	}
	for _, c := range n.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

func freePorts(n int) ([]int, error) {
	var listeners []net.Listener
	defer func() {
		for _, l := range listeners {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("failed to find a free loopback port: %w", err)
		}
		listeners = append(listeners, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func checkPortFree(port int) error {
	l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
	if err != nil {
		return err
	}
	return l.Close()
}

func copyFile(from, to string) error {
	data, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	return os.WriteFile(to, data, 0o600)
}

func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// writePID records the API server's pid for whoever restarts it.
func writePID(dir string, ch *child) error {
	if err := os.WriteFile(filepath.Join(dir, APIServerPIDFile), []byte(strconv.Itoa(ch.cmd.Process.Pid)+"\n"), 0o644); err != nil {
		return fmt.Errorf("failed to write %s: %w", APIServerPIDFile, err)
	}
	return nil
}
