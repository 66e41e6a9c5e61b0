package image

import (
	"archive/tar"
	"context"
	"debug/elf"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
)

func TestBuildMakesARunnableNonRootImage(t *testing.T) {
	if testing.Short() {
		t.Skip("compiles the exporter; skipped with -short")
	}
	out := filepath.Join(t.TempDir(), "exporter.tar")
	if err := Build(context.Background(), "../..", "amd64", DefaultTag, out); err != nil {
		t.Fatal(err)
	}
	tag, _ := name.NewTag(DefaultTag)
	img, err := tarball.ImageFromPath(out, &tag)
	if err != nil {
		t.Fatal(err)
	}
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.OS != "linux" || cf.Architecture != "amd64" || cf.Config.User != "65532:65532" || len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != Binary {
		t.Fatalf("config %+v", cf)
	}
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("layers %d (%v): want just the binary", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	tr := tar.NewReader(rc)
	hdr, err := tr.Next()
	if err != nil {
		t.Fatal(err)
	}
	if "/"+hdr.Name != Binary || hdr.Mode != 0o755 || hdr.Uid != 65532 {
		t.Fatalf("entry %s mode %o uid %d", hdr.Name, hdr.Mode, hdr.Uid)
	}
	bin := filepath.Join(t.TempDir(), "bin")
	f, _ := os.Create(bin)
	if _, err := io.Copy(f, tr); err != nil {
		t.Fatal(err)
	}
	f.Close()
	e, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("not an ELF binary: %v", err)
	}
	defer e.Close()
	if interp := e.Section(".interp"); interp != nil {
		t.Fatal("binary is dynamically linked: it would not run in an image without a libc")
	}
	if _, err := tr.Next(); !errors.Is(err, io.EOF) {
		t.Fatal("more than one file in the layer")
	}
	// kind loads `docker save` archives by their tags.
	m, err := tarball.LoadManifest(func() (io.ReadCloser, error) { return os.Open(out) })
	if err != nil || len(m) != 1 || len(m[0].RepoTags) != 1 || m[0].RepoTags[0] != DefaultTag {
		t.Fatalf("manifest %+v (%v)", m, err)
	}
}

func TestBadTag(t *testing.T) {
	if err := Build(context.Background(), "../..", "amd64", "UPPER CASE", filepath.Join(t.TempDir(), "x.tar")); err == nil {
		t.Fatal("accepted a bad tag")
	}
}
