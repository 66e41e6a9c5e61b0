// Package pins holds the versions eventcheck pins and how its builds are
// stamped: what the cluster and OpenSearch backends and the image builder
// (internal/images) must agree on. It imports nothing of eventcheck's.
package pins

import (
	"bytes"
	"os"
	"path/filepath"
)

// KubernetesVersion is the Kubernetes release the localcluster module
// requires (localcluster/go.mod) and the kind node image is built from.
const KubernetesVersion = "v1.37.2"

// KubernetesLDFlags are the -X flags that make components built from
// Kubernetes' modules report KubernetesVersion: nodes, `kubectl version`
// and the apiserver say v1.37.2.
const KubernetesLDFlags = "-X k8s.io/component-base/version.gitVersion=" + KubernetesVersion +
	" -X k8s.io/component-base/version.gitMajor=1" +
	" -X k8s.io/component-base/version.gitMinor=37" +
	" -X k8s.io/component-base/version.gitTreeState=clean"

// LocalclusterModule is the path of the nested module that builds the
// local control plane.
const LocalclusterModule = "github.com/eventcheck/eventcheck/localcluster"

// LocalclusterSource returns the localcluster module of the source tree we
// run in, found by walking up from the working directory (tests run in
// package directories), if there is one.
func LocalclusterSource() (string, bool) {
	dir, err := os.Getwd()
	if err != nil {
		return "", false
	}
	for {
		candidate := filepath.Join(dir, "localcluster")
		data, err := os.ReadFile(filepath.Join(candidate, "go.mod"))
		if err == nil && bytes.Contains(data, []byte("module "+LocalclusterModule)) {
			return candidate, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// The OpenSearch release line the backends run.
const (
	// OpenSearchSeries is the release line the local backend resolves to
	// its newest patch when no version is given (2.19 runs on Java 11 to
	// 21).
	OpenSearchSeries = "2.19"
	// OpenSearchImageVersion is the opensearchproject/opensearch tag the
	// container backend runs when no version is given.
	OpenSearchImageVersion = "2.19.6"
	// OpenSearchArtifact is the integration-test distribution on Maven
	// Central: the real server with only the transport modules, no
	// security plugin.
	OpenSearchArtifact = "org.opensearch.distribution.integ-test-zip:opensearch"
	// OpenSearchSecuredVersion is the distribution the secured local
	// backend runs: its security plugin must be of the same version, and
	// Maven Central serves opensearch-security 2.19.4.0, not 2.19.6.0.
	OpenSearchSecuredVersion = "2.19.4"
	// SecurityPluginArtifact is the security plugin on Maven Central; its
	// version is the distribution's with a fourth part (2.19.4.0).
	SecurityPluginArtifact = "org.opensearch.plugin:opensearch-security"
)
