#!/bin/bash
# A kind node image built here, for engines that cannot pull kindest/node:
# kind's own node conventions (its base image's files, read from the kind
# module: entrypoint, systemd units, containerd config) on Debian packages,
# with Kubernetes, containerd, runc, etcd and CoreDNS built from their Go
# modules by the caller. The control-plane images are preloaded; images
# the scenario pulls by tag come from a registry inside each node; pod
# networking is a small service in place of kindnetd.
#
# Inputs (environment): BIN (the built binaries), KIND_FILES (kind's
# images/base/files), FILES (ours), WORK (scratch), ENGINE (docker),
# IMAGE (the tag to write), K8S_VERSION, ETCD_TAG, PAUSE_TAG, COREDNS_TAG.
set -euo pipefail
: "${BIN:?}" "${KIND_FILES:?}" "${FILES:?}" "${WORK:?}" "${ENGINE:?}" "${IMAGE:?}" "${K8S_VERSION:?}" "${ETCD_TAG:?}" "${PAUSE_TAG:?}" "${COREDNS_TAG:?}"
MIRROR=http://deb.debian.org/debian
SUITE=bookworm

strap() { # dir packages
  debootstrap --variant=minbase --include="$2" "$SUITE" "$1" "$MIRROR" >"$1.log" 2>&1 || { tail -n 20 "$1.log"; exit 1; }
  rm -rf "$1"/var/cache/apt/archives/*.deb "$1"/var/lib/apt/lists/*
}
build() { # tag dir
  DOCKER_BUILDKIT=0 "$ENGINE" build --quiet --tag "$1" "$2" >/dev/null
}

echo "root filesystems (debootstrap $SUITE)"
mkdir -p "$WORK"
strap "$WORK/node" systemd,systemd-sysv,dbus,conntrack,iptables,nftables,iproute2,ethtool,util-linux,mount,kmod,libseccomp2,pigz,bash,ca-certificates,jq,procps,containernetworking-plugins,socat &
p1=$!
strap "$WORK/base" iptables,conntrack,ipset,kmod &
p2=$!
strap "$WORK/nginx" nginx-light &
p3=$!
wait $p1 && wait $p2 && wait $p3

echo "component images"
tar -C "$WORK/base" -c . | "$ENGINE" import - eventcheck.local/k8s-base:"$SUITE" >/dev/null
image() { # tag binary-path-in-image entrypoint...
  local tag=$1 path=$2 dir
  dir=$(mktemp -d "$WORK/img-XXXX")
  cp "$BIN/$(basename "$path")" "$dir/"
  printf 'FROM eventcheck.local/k8s-base:%s\nCOPY %s %s\nENTRYPOINT ["%s"]\n' "$SUITE" "$(basename "$path")" "$path" "$path" >"$dir/Dockerfile"
  build "$tag" "$dir"
}
for c in kube-apiserver kube-controller-manager kube-scheduler kube-proxy; do
  image "registry.k8s.io/$c:$K8S_VERSION" "/usr/local/bin/$c"
done
image "registry.k8s.io/etcd:$ETCD_TAG" /usr/local/bin/etcd
image "registry.k8s.io/pause:$PAUSE_TAG" /pause
image "registry.k8s.io/coredns/coredns:$COREDNS_TAG" /coredns

echo "nginx (Debian's), as docker.io/library/nginx:latest in the node's registry"
cat >"$WORK/nginx/etc/nginx/sites-available/default" <<'CONF'
server { listen 80 default_server; root /var/www/html; index index.nginx-debian.html; }
CONF
tar -C "$WORK/nginx" -c . | "$ENGINE" import --change 'CMD ["nginx", "-g", "daemon off;"]' --change 'EXPOSE 80' - eventcheck.local/nginx:"$SUITE" >/dev/null
R="$WORK/node"
mkdir -p "$R/var/lib/eventcheck-registry"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
sed "s|127.0.0.1:5000|127.0.0.1:$port|; s|/var/lib/eventcheck-registry|$R/var/lib/eventcheck-registry|" "$FILES/eventcheck-registry.yml" >"$WORK/registry.yml"
"$BIN/registry" serve "$WORK/registry.yml" >"$WORK/registry.log" 2>&1 &
reg=$!
trap 'kill $reg 2>/dev/null || true' EXIT
for _ in $(seq 50); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.2; done
"$ENGINE" tag eventcheck.local/nginx:"$SUITE" "127.0.0.1:$port/library/nginx:latest"
"$ENGINE" push --quiet "127.0.0.1:$port/library/nginx:latest" >/dev/null
"$ENGINE" rmi "127.0.0.1:$port/library/nginx:latest" >/dev/null
kill $reg; wait $reg 2>/dev/null || true

echo "node root filesystem: kind's conventions, our binaries"
install -m 0755 "$KIND_FILES"/usr/local/bin/* "$R/usr/local/bin/"
mkdir -p "$R/kind/bin" "$R/kind/manifests" "$R/kind/images" "$R/etc/containerd/certs.d/docker.io" \
  "$R/etc/systemd/system/kubelet.service.d" "$R/etc/kubernetes/manifests" "$R/opt/cni/bin"
install -m 0644 "$KIND_FILES/kind/README.txt" "$R/kind/"
install -m 0755 "$KIND_FILES"/kind/bin/* "$R/kind/bin/"
install -m 0644 "$KIND_FILES/etc/crictl.yaml" "$R/etc/"
install -m 0644 "$KIND_FILES/etc/default/kubelet" "$R/etc/default/"
install -m 0644 "$KIND_FILES"/etc/sysctl.d/* "$R/etc/sysctl.d/"
install -m 0644 "$KIND_FILES"/etc/systemd/system/*.service "$KIND_FILES/etc/systemd/system/kubelet.slice" "$R/etc/systemd/system/"
install -m 0644 "$KIND_FILES"/etc/systemd/system/kubelet.service.d/* "$R/etc/systemd/system/kubelet.service.d/"
# containerd as kind configures it, with the sandbox image kubeadm expects,
# oom_score_adj kept at or above containerd's own (raising a process's
# priority needs CAP_SYS_RESOURCE), and registry hosts from certs.d.
sed -e "s|sandbox_image = \".*\"|sandbox_image = \"registry.k8s.io/pause:$PAUSE_TAG\"|" \
    -e 's/restrict_oom_score_adj = false/restrict_oom_score_adj = true/' \
    "$KIND_FILES/etc/containerd/config.toml" >"$R/etc/containerd/config.toml"
printf '\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n' >>"$R/etc/containerd/config.toml"
install -m 0644 "$FILES/certs.d/docker.io/hosts.toml" "$R/etc/containerd/certs.d/docker.io/"
cp -a "$R"/usr/lib/cni/* "$R/opt/cni/bin/"
install -m 0755 "$BIN/containerd" "$BIN/containerd-shim-runc-v2" "$BIN/ctr" "$BIN/crictl" "$BIN/registry" "$R/usr/local/bin/"
install -m 0755 "$BIN/runc" "$R/usr/sbin/runc"
install -m 0755 "$FILES/runc" "$R/usr/local/sbin/runc"
install -m 0755 "$BIN/kubelet" "$BIN/kubeadm" "$BIN/kubectl" "$R/usr/bin/"
install -m 0755 "$FILES/eventcheck-cni" "$R/usr/local/bin/"
install -m 0644 "$FILES/eventcheck-cni.service" "$FILES/eventcheck-registry.service" "$FILES/kind-preload.service" "$R/etc/systemd/system/"
install -m 0644 "$FILES/eventcheck-registry.yml" "$R/etc/"
install -m 0644 "$FILES/12-preload.conf" "$R/etc/systemd/system/kubelet.service.d/"
install -m 0644 "$FILES/default-cni.yaml" "$R/kind/manifests/default-cni.yaml"
"$BIN/ctr" oci spec | jq '.hooks.createContainer[.hooks.createContainer| length] |= . + {"path": "/kind/bin/mount-product-files.sh"}' |
  jq 'del(.process.rlimits)' >"$R/etc/containerd/cri-base.json"
echo "$K8S_VERSION" >"$R/kind/version"
# systemd as kind's base image sets it up.
find "$R/lib/systemd/system/sysinit.target.wants/" -name systemd-tmpfiles-setup.service -delete
rm -f "$R"/lib/systemd/system/multi-user.target.wants/* "$R"/etc/systemd/system/*.wants/* \
  "$R"/lib/systemd/system/local-fs.target.wants/* "$R"/lib/systemd/system/sockets.target.wants/*udev* \
  "$R"/lib/systemd/system/sockets.target.wants/*initctl* "$R"/lib/systemd/system/basic.target.wants/*
echo "ReadKMsg=no" >>"$R/etc/systemd/journald.conf"
chroot "$R" systemctl enable kubelet.service containerd.service undo-mount-hacks.service kind-preload.service \
  eventcheck-cni.service eventcheck-registry.service >/dev/null 2>&1
chroot "$R" systemctl mask systemd-binfmt.service >/dev/null 2>&1

echo "control-plane images preloaded at boot"
"$ENGINE" save -o "$R/kind/images/control-plane.tar" \
  "registry.k8s.io/kube-apiserver:$K8S_VERSION" "registry.k8s.io/kube-controller-manager:$K8S_VERSION" \
  "registry.k8s.io/kube-scheduler:$K8S_VERSION" "registry.k8s.io/kube-proxy:$K8S_VERSION" \
  "registry.k8s.io/etcd:$ETCD_TAG" "registry.k8s.io/pause:$PAUSE_TAG" "registry.k8s.io/coredns/coredns:$COREDNS_TAG"

echo "importing $IMAGE"
tar -C "$R" -c . | "$ENGINE" import --change 'ENTRYPOINT ["/usr/local/bin/entrypoint", "/sbin/init"]' \
  --change 'ENV container=docker' - "$IMAGE" >/dev/null
