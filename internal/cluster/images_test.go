package cluster

import (
	"context"
	"errors"
	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers"
	"os"
	"strings"
	"testing"

	"github.com/eventcheck/eventcheck/internal/engine/enginetest"
)

// fakeCluster records what is loaded into it, and what was in each archive.
type fakeCluster struct {
	Provider
	up     bool
	loaded []string
}

func (f *fakeCluster) Up(context.Context) error { f.up = true; return nil }
func (f *fakeCluster) LoadImageArchive(_ context.Context, path string) error {
	if !f.up {
		return errors.New("loaded before the cluster was up")
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	f.loaded = append(f.loaded, string(data))
	return nil
}

// Archives and engine images are loaded once the cluster is up, in
// order; an image the engine lacks is an error naming the flag.
func TestImagesAreLoadedOnceTheClusterIsUp(t *testing.T) {
	// docker save -o FILE REF writes REF into FILE; only "held:1" exists.
	enginetest.CLI(t, "docker", `case "$1" in
version) echo 27.5.1 ;;
image) [ "$3" = held:1 ] ;;
save) printf '%s' "$4" > "$3" ;;
esac`)
	archive := t.TempDir() + "/a.tar"
	if err := os.WriteFile(archive, []byte("archive a"), 0o644); err != nil {
		t.Fatal(err)
	}
	f := &fakeCluster{}
	p, err := withImageLoader(Kind, f, withImagesOptions(t, []string{archive}, []string{"held:1"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	if strings.Join(f.loaded, ",") != "archive a,held:1" {
		t.Fatalf("loaded %q, want the archive then the engine's image", f.loaded)
	}

	p, _ = withImageLoader(Local, &fakeCluster{}, withImagesOptions(t, nil, []string{"missing:2"}))
	if err := p.Up(context.Background()); err == nil || !strings.Contains(err.Error(), "--load-image missing:2: the docker engine holds no such image") {
		t.Fatalf("a missing engine image: %v", err)
	}
}

// A kubeconfig cluster pulls from registries only: refused before it is
// used, naming the flag.
func TestImagesAreRefusedOnAKubeconfigCluster(t *testing.T) {
	for flag, o := range map[string][2][]string{"--image-archive": {{"a.tar"}, nil}, "--load-image": {nil, {"img:1"}}} {
		_, err := withImageLoader(Kubeconfig, &fakeCluster{}, withImagesOptions(t, o[0], o[1]))
		if err == nil || !strings.HasPrefix(err.Error(), flag+": ") {
			t.Errorf("%s on a kubeconfig cluster: %v", flag, err)
		}
	}
	if p, err := withImageLoader(Kubeconfig, &fakeCluster{}, withImagesOptions(t, nil, nil)); err != nil || p == nil {
		t.Fatalf("no images: %v", err)
	}
}

func withImagesOptions(t *testing.T, archives, refs []string) (o providers.Options) {
	t.Helper()
	if err := WithImages(archives, refs)(&o); err != nil {
		t.Fatal(err)
	}
	o.Defaults()
	return o
}
