// Package node runs one simulated node: the real kubelet code path (via
// kubemark's hollow kubelet) against a fake CRI runtime, a fake machine of a
// chosen size and an offline image registry.
package node

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	cadvisorapi "github.com/google/cadvisor/lib/model"
	"k8s.io/apimachinery/pkg/api/resource"
	clientset "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	remote "k8s.io/cri-client/pkg"
	fakeremote "k8s.io/cri-client/pkg/fake"
	"k8s.io/klog/v2"
	cadvisortest "k8s.io/kubernetes/pkg/kubelet/cadvisor/testing"
	"k8s.io/kubernetes/pkg/kubelet/cm"
	"k8s.io/kubernetes/pkg/kubemark"

	"github.com/eventcheck/eventcheck/localcluster/internal/registry"
)

// Config describes one node.
type Config struct {
	Name       string
	Kubeconfig string
	Dir        string // all node state lives here
	Port       int    // kubelet API port on 127.0.0.1
	CPU        resource.Quantity
	Memory     resource.Quantity
	ClusterDNS string
	Images     []string
	ImagesFile string
	MaxPods    int
}

// machine reports the configured node size instead of kubemark's fixed one.
type machine struct {
	*cadvisortest.Fake
	cores    int
	memBytes uint64
}

func (m *machine) MachineInfo(logger klog.Logger) (*cadvisorapi.MachineInfo, error) {
	info, err := m.Fake.MachineInfo(logger)
	if err != nil {
		return nil, err
	}
	info.NumCores = m.cores
	info.MemoryCapacity = m.memBytes
	return info, nil
}

// Run starts the kubelet and blocks until ctx ends or it fails.
func Run(ctx context.Context, c Config) error {
	// Anything that asks for a temporary directory gets one inside the
	// node directory, so a cluster leaves nothing in /tmp.
	tmp := filepath.Join(c.Dir, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return fmt.Errorf("failed to create node directory: %w", err)
	}
	os.Setenv("TMPDIR", tmp)

	restConfig, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig)
	if err != nil {
		return fmt.Errorf("failed to load node kubeconfig %s: %w", c.Kubeconfig, err)
	}
	restConfig.UserAgent = "kubelet/" + c.Name
	restConfig.QPS, restConfig.Burst = 50, 100
	client, err := clientset.NewForConfig(restConfig)
	if err != nil {
		return err
	}

	flags, config := kubemark.GetHollowKubeletConfig(&kubemark.HollowKubeletOptions{
		NodeName:            c.Name,
		KubeletPort:         c.Port,
		KubeletReadOnlyPort: 0,
		MaxPods:             c.MaxPods,
		NodeLabels:          map[string]string{},
	})
	// kubemark puts the kubelet's directories under a hard-coded /tmp; we
	// keep kubemark's settings but move all state into the node directory.
	if err := os.RemoveAll(flags.RootDirectory); err != nil {
		return err
	}
	flags.RootDirectory = filepath.Join(c.Dir, "root")
	config.StaticPodPath = filepath.Join(c.Dir, "static-pods")
	config.PodLogsDir = filepath.Join(c.Dir, "pod-logs")
	for _, d := range []string{flags.RootDirectory, config.StaticPodPath, config.PodLogsDir} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return fmt.Errorf("failed to create node directory: %w", err)
		}
	}
	flags.NodeIP = "127.0.0.1"
	config.Address = "127.0.0.1"
	config.HealthzPort = 0
	config.ClusterDomain = "cluster.local"
	// Without ClusterDNS every pod gets a MissingClusterDNS warning event.
	config.ClusterDNS = []string{c.ClusterDNS}
	// Faster status updates make a new node Ready sooner.
	config.NodeStatusUpdateFrequency.Duration = 2 * time.Second
	config.SyncFrequency.Duration = 5 * time.Second

	heartbeatConfig := *restConfig
	heartbeatConfig.Timeout = config.NodeStatusUpdateFrequency.Duration * 5
	heartbeatConfig.QPS = -1
	heartbeat, err := clientset.NewForConfig(&heartbeatConfig)
	if err != nil {
		return err
	}

	runtime := fakeremote.NewFakeRemoteRuntime()
	endpoint := "unix://" + filepath.Join(c.Dir, "cri.sock")
	if len(endpoint) > 100 {
		return fmt.Errorf("node directory %s is too deep for a unix socket path (max ~100 characters): use a shorter cluster directory", c.Dir)
	}
	if err := runtime.Start(endpoint); err != nil {
		return fmt.Errorf("failed to start fake container runtime at %s: %w", endpoint, err)
	}
	defer runtime.Stop()
	runtimeService, err := remote.NewRemoteRuntimeServiceBuilder().
		WithEndpoint(endpoint).
		WithConnectionTimeout(15 * time.Second).
		Build(ctx)
	if err != nil {
		return fmt.Errorf("failed to connect to fake container runtime: %w", err)
	}
	images := &registry.OfflineRegistry{FakeImageService: runtime.ImageService, Allowed: c.Images, AllowedFile: c.ImagesFile}

	hollow := kubemark.NewHollowKubelet(flags, config, client, heartbeat,
		&machine{Fake: &cadvisortest.Fake{NodeName: c.Name}, cores: int(c.CPU.Value()), memBytes: uint64(c.Memory.Value())},
		images, runtimeService, cm.NewStubContainerManager())
	// kubemark drops every kubelet event with a fake recorder; clearing it
	// makes the kubelet build its real recorder, which sends events to the
	// apiserver (FailedMount, Failed, BackOff, Pulled, Started, ...).
	hollow.KubeletDeps.Recorder = nil
	hollow.KubeletDeps.EventClient = client.CoreV1()
	klog.InfoS("Starting simulated node", "node", c.Name, "cpu", c.CPU.String(), "memory", c.Memory.String(), "images", images.String())
	// HollowKubelet.Run never returns; the process ends when ctx does.
	go hollow.Run(ctx)
	<-ctx.Done()
	klog.InfoS("Stopping simulated node", "node", c.Name)
	return nil
}
