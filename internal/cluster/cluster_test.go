package cluster

import (
	"context"
	"strings"
	"testing"

	"github.com/eventcheck/eventcheck/internal/engine/enginetest"
)

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := New("minikube"); err == nil || !strings.Contains(err.Error(), `"minikube"`) || !strings.Contains(err.Error(), "kubeconfig") {
		t.Fatalf("unknown provider error = %v", err)
	}
	if _, err := New(Local, WithNodes(0)); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Fatalf("zero nodes error = %v", err)
	}
}

// An engine that answers but holds no images and reaches no registry
// cannot run the kind path: auto takes local and says what is missing.
func TestDetectFallsBackWhenImagesCannotBeHad(t *testing.T) {
	enginetest.WithoutImages(t)
	name, why := Detect(context.Background(), "kindest/node:v9", "opensearchproject/opensearch:9")
	if name != Local || !strings.Contains(why, "kindest/node:v9, opensearchproject/opensearch:9") || !strings.Contains(why, "--cluster kind") {
		t.Fatalf("Detect = %s, %q; want local, naming both images and --cluster kind", name, why)
	}
	if name, _ := Detect(context.Background()); name != Kind {
		t.Fatalf("with no image needed, Detect = %s; want kind", name)
	}
}

// An engine that holds the images but refuses privileged containers (a
// host short of a capability) cannot run kind's nodes: auto takes local
// and says what the engine said.
func TestDetectFallsBackWhenPrivilegedContainersAreRefused(t *testing.T) {
	enginetest.CLI(t, "docker", `case "$1" in
version) echo 20.10.24 ;;
image) exit 0 ;;
run) echo 'runc create failed: unable to start container process: unable to apply caps: operation not permitted' >&2; exit 125 ;;
esac`)
	enginetest.NoRegistry(t)
	name, why := Detect(context.Background(), "kindest/node:v9")
	if name != Local || !strings.Contains(why, "privileged") || !strings.Contains(why, "unable to apply caps") {
		t.Fatalf("Detect = %s, %q; want local, with the engine's refusal", name, why)
	}
}
