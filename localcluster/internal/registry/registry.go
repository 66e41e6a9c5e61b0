// Package registry simulates a node's image registry.
package registry

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"

	"github.com/distribution/reference"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	apitest "k8s.io/cri-api/pkg/apis/testing"
)

// OfflineRegistry is an image service that behaves like a node whose
// registry has only some images: those pull, every other one fails the way
// containerd reports a missing repository, so the real kubelet emits its
// usual Failed / ErrImagePull / BackOff events.
type OfflineRegistry struct {
	*apitest.FakeImageService
	// Allowed are image references that pull.
	Allowed []string
	// AllowedFile, when set, is re-read on every pull so images can be
	// added (e.g. by loading an image archive) while the node runs.
	AllowedFile string
}

// PullImage pulls allowed images and refuses the rest.
func (r *OfflineRegistry) PullImage(ctx context.Context, image *runtimeapi.ImageSpec, auth *runtimeapi.AuthConfig, cfg *runtimeapi.PodSandboxConfig) (string, error) {
	ref := Normalize(image.GetImage())
	if !r.allowed(ref) {
		// containerd's wording, so messages match what a real node shows.
		return "", status.Errorf(codes.NotFound,
			"failed to pull and unpack image %q: failed to resolve reference %q: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed",
			ref, ref)
	}
	return r.FakeImageService.PullImage(ctx, image, auth, cfg)
}

func (r *OfflineRegistry) allowed(ref string) bool {
	for _, a := range r.Allowed {
		if Normalize(a) == ref {
			return true
		}
	}
	if r.AllowedFile == "" {
		return false
	}
	f, err := os.Open(r.AllowedFile)
	if err != nil {
		return false
	}
	defer f.Close()
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); line != "" && Normalize(line) == ref {
			return true
		}
	}
	return false
}

// Normalize returns the fully qualified form of an image reference
// ("nginx" -> "docker.io/library/nginx:latest"), or the input unchanged if
// it does not parse.
func Normalize(image string) string {
	named, err := reference.ParseNormalizedNamed(image)
	if err != nil {
		return image
	}
	return reference.TagNameOnly(named).String()
}

// String is used in logs.
func (r *OfflineRegistry) String() string {
	return fmt.Sprintf("offline registry (allowed: %v, file: %q)", r.Allowed, r.AllowedFile)
}
