// Command localcluster is a multi-call binary that runs a Kubernetes
// cluster on one machine without containers: "localcluster up" supervises
// embedded etcd and, as child processes of this same binary, the upstream
// kube-apiserver, kube-controller-manager, kube-scheduler and simulated
// nodes running the real kubelet code.
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/component-base/cli"
	"k8s.io/component-base/version"
	apiserver "k8s.io/kubernetes/cmd/kube-apiserver/app"
	controllermanager "k8s.io/kubernetes/cmd/kube-controller-manager/app"
	scheduler "k8s.io/kubernetes/cmd/kube-scheduler/app"

	"github.com/eventcheck/eventcheck/localcluster/internal/node"
	"github.com/eventcheck/eventcheck/localcluster/internal/supervisor"
)

const usage = `usage: localcluster <command> [flags]

commands:
  up                        run a cluster in --dir until SIGTERM/SIGINT
  version                   print the Kubernetes version built in
  kube-apiserver ...        (internal) the upstream kube-apiserver
  kube-controller-manager . (internal) the upstream kube-controller-manager
  kube-scheduler ...        (internal) the upstream kube-scheduler
  kubelet ...               (internal) one simulated node
`

func main() {
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	cmd, args := os.Args[1], os.Args[2:]
	switch cmd {
	case "kube-apiserver", "kube-controller-manager", "kube-scheduler":
		// Each upstream command runs alone in its process: their global
		// state (flags, metrics registries, feature gates) would clash.
		os.Args = append([]string{cmd}, args...)
		c := map[string]func() int{
			"kube-apiserver":          func() int { return cli.Run(apiserver.NewAPIServerCommand()) },
			"kube-controller-manager": func() int { return cli.Run(controllermanager.NewControllerManagerCommand()) },
			"kube-scheduler":          func() int { return cli.Run(scheduler.NewSchedulerCommand()) },
		}[cmd]
		os.Exit(c())
	case "kubelet":
		os.Exit(runNode(args))
	case "up":
		os.Exit(runUp(args))
	case "version":
		fmt.Println(version.Get().GitVersion)
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "localcluster: unknown command %q\n%s", cmd, usage)
		os.Exit(2)
	}
}

func runUp(args []string) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	dir := fs.String("dir", "", "directory for all cluster state, logs and the kubeconfig (required)")
	nodes := fs.Int("nodes", 3, "number of simulated nodes")
	cpu := fs.String("node-cpu", "2", "CPU capacity of each node (whole cores)")
	mem := fs.String("node-memory", "4Gi", "memory capacity of each node")
	images := fs.String("images", "nginx,busybox,registry.k8s.io/pause", "comma-separated images the offline registry serves; others fail to pull")
	port := fs.Int("apiserver-port", 0, "apiserver port on 127.0.0.1 (0 picks a free one)")
	timeout := fs.Duration("ready-timeout", 2*time.Minute, "how long to wait for the cluster to be ready")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	cpuQ, err := resource.ParseQuantity(*cpu)
	if err != nil {
		log.Error("invalid --node-cpu", "value", *cpu, "err", err)
		return 2
	}
	memQ, err := resource.ParseQuantity(*mem)
	if err != nil {
		log.Error("invalid --node-memory", "value", *mem, "err", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	err = supervisor.Run(ctx, supervisor.Config{
		Dir: *dir, Nodes: *nodes, NodeCPU: cpuQ, NodeMemory: memQ,
		Images: splitList(*images), APIServerPort: *port, ReadyTimeout: *timeout, Log: log,
	})
	if err != nil {
		log.Error("local cluster failed", "err", err)
		return 1
	}
	return 0
}

func runNode(args []string) int {
	fs := flag.NewFlagSet("kubelet", flag.ContinueOnError)
	var c node.Config
	var cpu, mem, images string
	fs.StringVar(&c.Name, "name", "", "node name")
	fs.StringVar(&c.Kubeconfig, "kubeconfig", "", "node kubeconfig")
	fs.StringVar(&c.Dir, "dir", "", "node state directory")
	fs.IntVar(&c.Port, "port", 10250, "kubelet port")
	fs.StringVar(&cpu, "cpu", "2", "CPU capacity")
	fs.StringVar(&mem, "memory", "4Gi", "memory capacity")
	fs.StringVar(&c.ClusterDNS, "cluster-dns", "10.96.0.10", "cluster DNS IP")
	fs.StringVar(&images, "images", "", "comma-separated images that pull")
	fs.StringVar(&c.ImagesFile, "images-file", "", "file of images that pull, one per line, re-read on every pull")
	fs.IntVar(&c.MaxPods, "max-pods", 110, "pods per node")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	var err error
	if c.CPU, err = resource.ParseQuantity(cpu); err != nil {
		fmt.Fprintf(os.Stderr, "invalid --cpu %q: %v\n", cpu, err)
		return 2
	}
	if c.Memory, err = resource.ParseQuantity(mem); err != nil {
		fmt.Fprintf(os.Stderr, "invalid --memory %q: %v\n", mem, err)
		return 2
	}
	c.Images = splitList(images)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := node.Run(ctx, c); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
