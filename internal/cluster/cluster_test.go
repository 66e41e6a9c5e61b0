package cluster

import (
	"context"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/e2e-framework/klient"
	"sigs.k8s.io/e2e-framework/pkg/envconf"
	"sigs.k8s.io/e2e-framework/pkg/envfuncs"
	"sigs.k8s.io/e2e-framework/support"
)

func TestNewRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := New(ctx, "minikube"); err == nil || !strings.Contains(err.Error(), `"minikube"`) || !strings.Contains(err.Error(), "kubeconfig") {
		t.Fatalf("unknown provider error = %v", err)
	}
	if _, err := New(ctx, Local, WithNodes(0)); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Fatalf("zero nodes error = %v", err)
	}
	if _, err := New(ctx, Local, WithAPIServerPort(70000)); err == nil || !strings.Contains(err.Error(), "70000") {
		t.Fatalf("bad port error = %v", err)
	}
}

// The adapter lets e2e-framework's own env funcs drive our providers.
func TestE2EProviderWorksWithEnvFuncs(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/version":
			_, _ = w.Write([]byte(`{"major":"1","minor":"37","gitVersion":"v1.37.2"}`))
		case "/readyz":
			_, _ = w.Write([]byte("ok"))
		default:
			http.NotFound(w, r)
		}
	}))
	defer srv.Close()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c"] = &clientcmdapi.Cluster{Server: srv.URL}
	cfg.AuthInfos["c"] = &clientcmdapi.AuthInfo{}
	cfg.Contexts["c"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "c"}
	cfg.CurrentContext = "c"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}

	var p support.E2EClusterProvider = NewE2EProvider(Kubeconfig, WithKubeconfig(path, ""))
	envCfg := envconf.New()
	ctx, err := envfuncs.CreateClusterWithOpts(p, "existing")(context.Background(), envCfg)
	if err != nil {
		t.Fatal(err)
	}
	if envCfg.KubeconfigFile() == "" || envCfg.KubeconfigFile() == path {
		t.Fatalf("env kubeconfig = %q; want the provider's pinned copy", envCfg.KubeconfigFile())
	}
	c, err := klient.NewWithKubeConfigFile(envCfg.KubeconfigFile())
	if err != nil {
		t.Fatal(err)
	}
	if err := p.WaitForControlPlane(ctx, c); err != nil {
		t.Fatal(err)
	}
	if rc := p.KubernetesRestConfig(); rc == nil || rc.Host != srv.URL {
		t.Fatalf("rest config = %+v", rc)
	}
	if _, err := envfuncs.DestroyCluster("existing")(ctx, envCfg); err != nil {
		t.Fatal(err)
	}
}
