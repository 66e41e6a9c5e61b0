package kind

import (
	"fmt"
	"os"

	"sigs.k8s.io/kind/pkg/apis/config/v1alpha4"

	"github.com/eventcheck/eventcheck"
	"sigs.k8s.io/yaml"
)

// loadConfig reads a kind cluster config strictly, so a typo is reported
// here with the file name rather than by kind halfway through a create.
func loadConfig(path string) (*v1alpha4.Cluster, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("failed to read kind config: %w", err)
	}
	var c v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(data, &c); err != nil {
		return nil, fmt.Errorf("kind config %s: %w", path, err)
	}
	if c.Kind != "Cluster" || c.APIVersion != "kind.x-k8s.io/v1alpha4" {
		return nil, fmt.Errorf("kind config %s: want kind: Cluster and apiVersion: kind.x-k8s.io/v1alpha4, got kind %q apiVersion %q", path, c.Kind, c.APIVersion)
	}
	return &c, nil
}

// defaultConfig is the built-in kind config (kind-config.yaml, embedded).
func defaultConfig() (*v1alpha4.Cluster, error) {
	var c v1alpha4.Cluster
	if err := yaml.UnmarshalStrict(eventcheck.KindConfig, &c); err != nil {
		return nil, fmt.Errorf("built-in kind config: %w", err)
	}
	return &c, nil
}

// schedulableNodes counts the nodes workloads can land on: every worker,
// and control-plane nodes whose kubeadm patch clears the control-plane
// taint (kind keeps that taint whenever there are workers).
func schedulableNodes(c *v1alpha4.Cluster) (int, error) {
	if len(c.Nodes) == 0 {
		return 1, nil // kind's default: one untainted control plane
	}
	hasWorkers := false
	for _, n := range c.Nodes {
		if n.Role == v1alpha4.WorkerRole {
			hasWorkers = true
		}
	}
	count, controlPlanes := 0, 0
	for i, n := range c.Nodes {
		switch n.Role {
		case v1alpha4.WorkerRole:
			count++
		case v1alpha4.ControlPlaneRole:
			if !hasWorkers {
				controlPlanes++
				count++
				continue
			}
			// kubeadm reads InitConfiguration on the first control plane
			// and JoinConfiguration on the others.
			kind := "JoinConfiguration"
			if controlPlanes == 0 {
				kind = "InitConfiguration"
			}
			controlPlanes++
			cleared, err := clearsTaints(n.KubeadmConfigPatches, kind)
			if err != nil {
				return 0, fmt.Errorf("nodes[%d].kubeadmConfigPatches: %w", i, err)
			}
			if cleared {
				count++
			}
		}
	}
	return count, nil
}

// clearsTaints reports whether a kubeadm patch of the given kind sets
// nodeRegistration.taints to [].
func clearsTaints(patches []string, kind string) (bool, error) {
	for _, p := range patches {
		var doc struct {
			Kind             string `json:"kind"`
			NodeRegistration struct {
				Taints *[]any `json:"taints"`
			} `json:"nodeRegistration"`
		}
		if err := yaml.Unmarshal([]byte(p), &doc); err != nil {
			return false, err
		}
		if doc.Kind == kind &&
			doc.NodeRegistration.Taints != nil && len(*doc.NodeRegistration.Taints) == 0 {
			return true, nil
		}
	}
	return false, nil
}
