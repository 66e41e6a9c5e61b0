package registry

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc/status"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
	apitest "k8s.io/cri-api/pkg/apis/testing"
)

func TestNormalize(t *testing.T) {
	for in, want := range map[string]string{
		"nginx":                     "docker.io/library/nginx:latest",
		"nginx:1.27":                "docker.io/library/nginx:1.27",
		"registry.k8s.io/pause":     "registry.k8s.io/pause:latest",
		"public.ecr.aws/x/y:v1":     "public.ecr.aws/x/y:v1",
		"docker.io/library/busybox": "docker.io/library/busybox:latest",
		"Not A Valid Reference":     "Not A Valid Reference",
	} {
		if got := Normalize(in); got != want {
			t.Errorf("Normalize(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPullAllowsListedImagesAndRefusesOthersLikeContainerd(t *testing.T) {
	file := filepath.Join(t.TempDir(), "images")
	if err := os.WriteFile(file, []byte("example.com/exporter:dev\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r := &OfflineRegistry{FakeImageService: apitest.NewFakeImageService(), Allowed: []string{"nginx"}, AllowedFile: file}
	ctx := context.Background()
	for _, img := range []string{"nginx", "docker.io/library/nginx:latest", "example.com/exporter:dev"} {
		if _, err := r.PullImage(ctx, &runtimeapi.ImageSpec{Image: img}, nil, nil); err != nil {
			t.Errorf("pull %s: %v", img, err)
		}
	}
	_, err := r.PullImage(ctx, &runtimeapi.ImageSpec{Image: "wrong-image"}, nil, nil)
	if err == nil {
		t.Fatal("wrong-image pulled")
	}
	msg := status.Convert(err).Message()
	for _, want := range []string{
		`failed to pull and unpack image "docker.io/library/wrong-image:latest"`,
		"pull access denied, repository does not exist or may require authorization",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
	// Images added to the file later pull without a restart.
	if err := os.WriteFile(file, []byte("wrong-image\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := r.PullImage(ctx, &runtimeapi.ImageSpec{Image: "wrong-image"}, nil, nil); err != nil {
		t.Errorf("image added to the file does not pull: %v", err)
	}
}
