// Package exporterenv puts the events exporter into an environment: in a
// cluster from exporter/deploy, or — where no pods can run — as a process
// on this machine that authenticates as the exporter's ServiceAccount, so
// its RBAC is exercised for real.
package exporterenv

import (
	"context"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/eventcheck/eventcheck/exporter/deploy"
	"github.com/eventcheck/eventcheck/internal/manifest"
)

// Namespace and ServiceAccount of the exporter, as in exporter/deploy.
const (
	Namespace      = "opensearch-exporter"
	ServiceAccount = "events-exporter"
)

// rbacKinds are what a host-process exporter needs from the deployment.
var rbacKinds = []string{"Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding", "Role", "RoleBinding"}

// Render renders exporter/deploy (embedded in the binary).
func Render() ([]*unstructured.Unstructured, error) {
	mem := filesys.MakeFsInMemory()
	entries, err := fs.ReadDir(deploy.FS, ".")
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		data, err := fs.ReadFile(deploy.FS, e.Name())
		if err != nil {
			return nil, err
		}
		if err := mem.WriteFile("/deploy/"+e.Name(), data); err != nil {
			return nil, err
		}
	}
	return manifest.Render(mem, "/deploy")
}

// ApplyRBAC applies the namespace, ServiceAccount and RBAC of
// exporter/deploy.
func ApplyRBAC(ctx context.Context, admin *rest.Config) error {
	objs, err := Render()
	if err != nil {
		return err
	}
	a, err := manifest.NewApplier(admin)
	if err != nil {
		return err
	}
	return a.Apply(ctx, manifest.Select(objs, rbacKinds...))
}

// ServiceAccountConfig returns a client configuration that authenticates
// as the exporter's ServiceAccount with a token from the TokenRequest API.
func ServiceAccountConfig(ctx context.Context, admin *rest.Config, ttl time.Duration) (*rest.Config, error) {
	cs, err := kubernetes.NewForConfig(admin)
	if err != nil {
		return nil, err
	}
	seconds := int64(ttl.Seconds())
	tr, err := cs.CoreV1().ServiceAccounts(Namespace).CreateToken(ctx, ServiceAccount,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &seconds}}, metav1.CreateOptions{})
	if err != nil {
		return nil, fmt.Errorf("failed to get a token for ServiceAccount %s/%s (is exporter/deploy's RBAC applied?): %w", Namespace, ServiceAccount, err)
	}
	return &rest.Config{
		Host:            admin.Host,
		BearerToken:     tr.Status.Token,
		TLSClientConfig: rest.TLSClientConfig{CAData: admin.CAData, CAFile: admin.CAFile, ServerName: admin.ServerName, Insecure: admin.Insecure},
	}, nil
}

// WriteKubeconfig writes cfg (from ServiceAccountConfig) as a kubeconfig
// for an exporter process; the file is private to its owner.
func WriteKubeconfig(cfg *rest.Config, dir string) (string, error) {
	kc := clientcmdapi.NewConfig()
	kc.Clusters["cluster"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData,
		CertificateAuthority: cfg.CAFile, TLSServerName: cfg.ServerName, InsecureSkipTLSVerify: cfg.Insecure}
	kc.AuthInfos["exporter"] = &clientcmdapi.AuthInfo{Token: cfg.BearerToken}
	kc.Contexts["exporter"] = &clientcmdapi.Context{Cluster: "cluster", AuthInfo: "exporter"}
	kc.CurrentContext = "exporter"
	path := filepath.Join(dir, "exporter.kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		return "", err
	}
	return path, nil
}
