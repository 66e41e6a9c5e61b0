package images

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/pins"
)

//go:embed kindnode
var kindnode embed.FS

// What the kind node image is built from: Kubernetes and etcd at the
// versions the localcluster module pins (kubeadm names the image tags), the
// rest from their own modules at the versions kind's base image uses.
const (
	etcdTag          = "3.7.0-0"
	pauseTag         = "3.10.2"
	corednsVersion   = "v1.14.6"
	containerdModule = "github.com/containerd/containerd/v2@v2.4.2"
	runcModule       = "github.com/opencontainers/runc@v1.4.3"
	corednsModule    = "github.com/coredns/coredns@" + corednsVersion
	registryModule   = "github.com/distribution/distribution/v3@v3.1.2"
	criToolsModule   = "sigs.k8s.io/cri-tools@v1.37.0"
)

// KindNode returns a kind node image for Kubernetes v1.37.2 that kind boots
// without a registry: kind's node conventions (its base image's files, read
// from the kind module) on Debian packages, Kubernetes, etcd, containerd,
// runc and CoreDNS built from their Go modules, the control-plane images
// preloaded, nginx served by a registry inside each node, and pod routes
// set by a small service in place of kindnetd. It needs the eventcheck
// source tree (the localcluster module and its build cache) and root.
func (b *Builder) KindNode(ctx context.Context) (string, error) {
	src, ok := pins.LocalclusterSource()
	if !ok {
		return "", fmt.Errorf("building the kind node image needs the eventcheck source tree (its localcluster module); run from a clone, or pass an image you have with --node-image")
	}
	recipe, err := recipeHash(kindnode)
	if err != nil {
		return "", err
	}
	recipe += hash(string(engine.RuncWrapper))
	kindFiles, err := moduleDir(ctx, filepath.Dir(src), "sigs.k8s.io/kind")
	if err != nil {
		return "", err
	}
	ref := fmt.Sprintf("%s/kind-node:%s-%s", Repository, pins.KubernetesVersion, hash(recipe, kindFiles, etcdTag, pauseTag,
		containerdModule, runcModule, corednsModule, registryModule, criToolsModule))
	if b.has(ctx, ref) {
		return ref, nil
	}
	if os.Geteuid() != 0 {
		return "", fmt.Errorf("building the kind node image %s needs root (debootstrap, chroot)", ref)
	}
	for cmd, pkg := range map[string]string{"debootstrap": "debootstrap", "jq": "jq", "curl": "curl"} {
		if _, _, err := engine.Install(ctx, cmd, pkg); err != nil {
			return "", fmt.Errorf("building the kind node image: %w", err)
		}
	}
	start := time.Now()
	work, err := os.MkdirTemp(b.cacheDir, "kind-node-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(work)
	bin := filepath.Join(work, "bin")
	b.log.Info("building the kind node image: Kubernetes, etcd, containerd, runc, CoreDNS from their Go modules", "image", ref)
	if err := buildBinaries(ctx, src, work, bin); err != nil {
		return "", fmt.Errorf("building the kind node image's binaries: %w", err)
	}
	files := filepath.Join(work, "files")
	if err := writeFS(kindnode, "kindnode/files", files); err != nil {
		return "", err
	}
	if err := os.WriteFile(filepath.Join(files, "runc"), engine.RuncWrapper, 0o755); err != nil {
		return "", err
	}
	script, err := kindnode.ReadFile("kindnode/build.sh")
	if err != nil {
		return "", err
	}
	cmd := exec.CommandContext(ctx, "bash", "-c", string(script))
	cmd.Env = append(os.Environ(), "BIN="+bin, "KIND_FILES="+filepath.Join(kindFiles, "images", "base", "files"),
		"FILES="+files, "WORK="+work, "ENGINE="+b.engine.Binary, "IMAGE="+ref, "K8S_VERSION="+pins.KubernetesVersion,
		"ETCD_TAG="+etcdTag, "PAUSE_TAG="+pauseTag, "COREDNS_TAG="+corednsVersion)
	if err := runCmd(cmd); err != nil {
		return "", fmt.Errorf("building the kind node image %s: %w", ref, err)
	}
	b.log.Info("kind node image built", "image", ref, "elapsed", time.Since(start).Round(time.Second))
	return ref, nil
}

// buildBinaries builds what the node image runs. Kubernetes' components
// and etcd build in a copy of the localcluster module (same versions, same
// build cache as the local cluster); the others in modules of their own.
func buildBinaries(ctx context.Context, localcluster, work, bin string) error {
	k8s := filepath.Join(work, "k8s")
	if err := os.MkdirAll(k8s, 0o755); err != nil {
		return err
	}
	for _, f := range []string{"go.mod", "go.sum"} {
		data, err := os.ReadFile(filepath.Join(localcluster, f))
		if err != nil {
			return err
		}
		if f == "go.mod" {
			data = bytes.Replace(data, []byte("module "+pins.LocalclusterModule), []byte("module kindnode"), 1)
		}
		if err := os.WriteFile(filepath.Join(k8s, f), data, 0o644); err != nil {
			return err
		}
	}
	for _, m := range []string{"etcd", "pause"} {
		data, err := kindnode.ReadFile("kindnode/mains/" + m + "/main.go.txt")
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Join(k8s, m), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(k8s, m, "main.go"), data, 0o644); err != nil {
			return err
		}
	}
	ldflags := "-s -w " + pins.KubernetesLDFlags
	if err := goBuild(ctx, k8s, nil, ldflags, "", bin, "k8s.io/kubernetes/cmd/kube-apiserver", "k8s.io/kubernetes/cmd/kube-controller-manager",
		"k8s.io/kubernetes/cmd/kube-scheduler", "k8s.io/kubernetes/cmd/kube-proxy", "k8s.io/kubernetes/cmd/kubelet",
		"k8s.io/kubernetes/cmd/kubeadm", "k8s.io/kubernetes/cmd/kubectl", "./etcd", "./pause"); err != nil {
		return err
	}
	static := []string{"CGO_ENABLED=0"}
	// runc's nsenter is C, and seccomp needs libseccomp's headers.
	if err := aptInstall(ctx, "libseccomp-dev"); err != nil {
		return err
	}
	for i, m := range []struct {
		module, pkgs, tags string
		env                []string
	}{
		{containerdModule, "/cmd/containerd /cmd/containerd-shim-runc-v2 /cmd/ctr", "no_btrfs no_devmapper no_zfs", static},
		{runcModule, "", "seccomp", []string{"CGO_ENABLED=1"}},
		{corednsModule, "", "", static},
		{registryModule, "/cmd/registry", "", static},
		{criToolsModule, "/cmd/crictl", "", static},
	} {
		path, _, _ := strings.Cut(m.module, "@")
		dir := filepath.Join(work, fmt.Sprintf("mod-%d", i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module build\n\ngo 1.26.0\n"), 0o644); err != nil {
			return err
		}
		if err := runCmd(goCmd(ctx, dir, nil, "get", m.module)); err != nil {
			return err
		}
		var pkgs []string
		for _, p := range strings.Fields(m.pkgs) {
			pkgs = append(pkgs, path+p)
		}
		if len(pkgs) == 0 {
			pkgs = []string{path}
		}
		if err := goBuild(ctx, dir, m.env, "-s -w", m.tags, bin, pkgs...); err != nil {
			return err
		}
	}
	return nil
}

func goCmd(ctx context.Context, dir string, env []string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, "go", args...)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "GOWORK=off", "GOFLAGS=-mod=mod"), env...)
	return cmd
}

func goBuild(ctx context.Context, dir string, env []string, ldflags, tags, out string, pkgs ...string) error {
	args := []string{"build", "-ldflags", ldflags, "-o", out + string(filepath.Separator)}
	if tags != "" {
		args = append(args, "-tags", tags)
	}
	return runCmd(goCmd(ctx, dir, env, append(args, pkgs...)...))
}

func aptInstall(ctx context.Context, pkg string) error {
	if err := engine.AptInstall(ctx, pkg); err != nil {
		return fmt.Errorf("the build needs Debian's %s: %w", pkg, err)
	}
	return nil
}

// moduleDir is where the Go module cache holds a module that the module
// in dir requires.
func moduleDir(ctx context.Context, dir, module string) (string, error) {
	cmd := exec.CommandContext(ctx, "go", "list", "-m", "-f", "{{.Dir}}", module)
	cmd.Dir = dir
	out, err := cmd.Output()
	if err != nil || strings.TrimSpace(string(out)) == "" {
		return "", fmt.Errorf("go list -m %s: %v", module, err)
	}
	return strings.TrimSpace(string(out)), nil
}

// recipeHash digests every file of a recipe.
func recipeHash(fsys fs.FS) (string, error) {
	var parts []string
	err := fs.WalkDir(fsys, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(fsys, path)
		parts = append(parts, path, string(data))
		return err
	})
	return hash(parts...), err
}

// writeFS copies the files under root in fsys to dir.
func writeFS(fsys fs.FS, root, dir string) error {
	sub, err := fs.Sub(fsys, root)
	if err != nil {
		return err
	}
	return os.CopyFS(dir, sub)
}
