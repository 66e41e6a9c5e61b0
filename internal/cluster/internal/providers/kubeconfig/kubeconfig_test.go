package kubeconfig

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers"
)

// fakeAPIServer answers /version like an apiserver.
func fakeAPIServer(t *testing.T) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"37","gitVersion":"v1.37.2"}`))
	}))
	t.Cleanup(srv.Close)
	return srv
}

func writeKubeconfig(t *testing.T, servers map[string]string, current string) string {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	for name, server := range servers {
		cfg.Clusters[name] = &clientcmdapi.Cluster{Server: server}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Token: "secret-token-" + name}
		cfg.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	cfg.CurrentContext = current
	path := filepath.Join(t.TempDir(), "config")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func closedPort(t *testing.T) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr
}

func TestUpPinsTheChosenContextAndNeverDeletes(t *testing.T) {
	good := fakeAPIServer(t)
	path := writeKubeconfig(t, map[string]string{"eks": good.URL, "other": closedPort(t)}, "other")
	p, err := New(providers.Options{Kubeconfig: path, Context: "eks"})
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Up(context.Background()); err != nil {
		t.Fatal(err)
	}
	pinned, err := clientcmd.LoadFromFile(p.Kubeconfig())
	if err != nil {
		t.Fatal(err)
	}
	if pinned.CurrentContext != "eks" || len(pinned.Contexts) != 1 {
		t.Fatalf("pinned kubeconfig has current context %q and %d contexts; want only eks", pinned.CurrentContext, len(pinned.Contexts))
	}
	if got := pinned.Clusters["eks"].Server; got != good.URL {
		t.Fatalf("pinned server = %s, want %s", got, good.URL)
	}
	rc, err := p.RESTConfig()
	if err != nil || rc.Host != good.URL {
		t.Fatalf("RESTConfig host = %v (%v), want %s", rc, err, good.URL)
	}
	if err := p.Down(context.Background()); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Fatalf("Down touched the user's kubeconfig: %v", err)
	}
	if !errors.Is(p.LoadImageArchive(context.Background(), "x.tar"), providers.ErrNotSupported) {
		t.Fatal("LoadImageArchive should be ErrNotSupported")
	}
}

func TestUpErrorsNameTheCause(t *testing.T) {
	unreachable := writeKubeconfig(t, map[string]string{"eks": closedPort(t)}, "eks")
	for _, tc := range []struct {
		name    string
		opts    providers.Options
		want    []string
		notWant string
	}{
		{"missing file", providers.Options{Kubeconfig: "/nonexistent/kubeconfig"}, []string{"/nonexistent/kubeconfig", "--kubeconfig"}, ""},
		{"unknown context", providers.Options{Kubeconfig: unreachable, Context: "prod"}, []string{`no context "prod"`, "eks", "--context"}, ""},
		{"unreachable", providers.Options{Kubeconfig: unreachable}, []string{"unreachable", "127.0.0.1", `context "eks"`}, "secret-token"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := New(tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			err = p.Up(context.Background())
			if err == nil {
				t.Fatal("want error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q should contain %q", err, w)
				}
			}
			if tc.notWant != "" && strings.Contains(err.Error(), tc.notWant) {
				t.Errorf("error leaks %q: %s", tc.notWant, err)
			}
			if d := time.Since(start); d > reachTimeout+5*time.Second {
				t.Errorf("took %s, bound is %s", d, reachTimeout)
			}
		})
	}
}
