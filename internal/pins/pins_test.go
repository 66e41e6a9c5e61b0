package pins

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The pinned Kubernetes version is the one the localcluster module
// requires: a bump of one without the other would stamp the wrong version.
func TestKubernetesVersionIsTheLocalclusterModules(t *testing.T) {
	src, ok := LocalclusterSource()
	if !ok {
		t.Fatal("no localcluster module above the working directory")
	}
	data, err := os.ReadFile(filepath.Join(src, "go.mod"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), "\tk8s.io/kubernetes "+KubernetesVersion+"\n") {
		t.Fatalf("%s does not require k8s.io/kubernetes %s", filepath.Join(src, "go.mod"), KubernetesVersion)
	}
	if !strings.HasPrefix(OpenSearchImageVersion, OpenSearchSeries+".") {
		t.Fatalf("image %s is not of the %s series", OpenSearchImageVersion, OpenSearchSeries)
	}
}
