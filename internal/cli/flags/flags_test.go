package flags

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/page"
)

func TestBadFlagValues(t *testing.T) {
	good := Env{Cluster: Cluster{Cluster: "local", Nodes: 3}, OpenSearch: "auto", Exporter: "builtin"}
	if _, err := good.Options(slog.New(slog.DiscardHandler)); err != nil {
		t.Fatalf("%+v refused: %v", good, err)
	}
	for want, f := range map[string]Env{
		`--cluster "minikube"`:                            {Cluster: Cluster{Cluster: "minikube", Nodes: 3}, OpenSearch: "auto", Exporter: "builtin"},
		`--opensearch "elastic"`:                          {Cluster: Cluster{Cluster: "local", Nodes: 3}, OpenSearch: "elastic", Exporter: "builtin"},
		"--opensearch-url":                                {Cluster: Cluster{Cluster: "local", Nodes: 3}, OpenSearch: "url", Exporter: "builtin"},
		"--opensearch-password-file":                      {Cluster: Cluster{Cluster: "local", Nodes: 3}, OpenSearch: "auto", Exporter: "builtin", OSPasswordFile: "/nonexistent/password"},
		`--exporter "fluent"`:                             {Cluster: Cluster{Cluster: "local", Nodes: 3}, OpenSearch: "auto", Exporter: "fluent"},
		"nodes run no containers":                         {Cluster: Cluster{Cluster: "local", Nodes: 3}, OpenSearch: "auto", Exporter: "helm"},
		"closing quote":                                   {Cluster: Cluster{Cluster: "local", Nodes: 3}, OpenSearch: "auto", Exporter: "process", ExporterCommand: `"unclosed`},
		`--opensearch-url "http://admin:xxxxx@[::1"`:      {Cluster: Cluster{Cluster: "local", Nodes: 3}, OpenSearch: "auto", Exporter: "builtin", OSURL: "http://admin:s3cret@[::1"},
		`--aws-service "s3"`:                              {Cluster: Cluster{Cluster: "local", Nodes: 3}, OpenSearch: "auto", Exporter: "builtin", AWSService: "s3"},
		"--nodes 0":                                       {Cluster: Cluster{Cluster: "local"}, OpenSearch: "auto", Exporter: "builtin"},
		"--opensearch-ca /nonexistent/ca.pem":             {Cluster: Cluster{Cluster: "local", Nodes: 3}, OpenSearch: "auto", Exporter: "builtin", OSCA: "/nonexistent/ca.pem"},
		"--opensearch-key /nonexistent/key.pem":           {Cluster: Cluster{Cluster: "local", Nodes: 3}, OpenSearch: "auto", Exporter: "builtin", OSCert: "/etc/hostname", OSKey: "/nonexistent/key.pem"},
		"--kubeconfig /nonexistent/kubeconfig":            {Cluster: Cluster{Cluster: "kubeconfig", Nodes: 3, Kubeconfig: "/nonexistent/kubeconfig"}, OpenSearch: "auto", Exporter: "builtin"},
		"--localcluster-bin /nonexistent":                 {Cluster: Cluster{Cluster: "local", Nodes: 3, LocalclusterBin: "/nonexistent"}, OpenSearch: "auto", Exporter: "builtin"},
		"--image-archive /nonexistent.tar: not a file":    {Cluster: Cluster{Cluster: "kind", Nodes: 3, ImageArchives: stringList{"/nonexistent.tar"}}, OpenSearch: "auto", Exporter: "builtin"},
		"--image-archive: an existing cluster":            {Cluster: Cluster{Cluster: "kubeconfig", Nodes: 3, ImageArchives: stringList{"/etc/hostname"}}, OpenSearch: "url", OSURL: "http://127.0.0.1:9200", Exporter: "builtin"},
		"--load-image: an existing cluster":               {Cluster: Cluster{Cluster: "kubeconfig", Nodes: 3, LoadImages: stringList{"events-exporter:dev"}}, OpenSearch: "url", OSURL: "http://127.0.0.1:9200", Exporter: "builtin"},
		"--exporter-chart-version needs --exporter-chart": {Cluster: Cluster{Cluster: "kind", Nodes: 3}, OpenSearch: "auto", Exporter: "helm", ExporterChartVersion: "3.6.4"},
	} {
		_, err := f.Options(slog.New(slog.DiscardHandler))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%+v: error %v, want one naming %s", f, err, want)
		}
	}
}

// A password file is read only when it is a small regular file: a FIFO
// would block the start and /dev/zero would never end.
func TestPasswordFileIsBounded(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big")
	if err := os.WriteFile(big, make([]byte, maxPasswordFile+1), 0o600); err != nil {
		t.Fatal(err)
	}
	good := filepath.Join(dir, "password")
	if err := os.WriteFile(good, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{fifo: "not a regular file", "/dev/zero": "not a regular file", big: "more than the 65536"} {
		done := make(chan error, 1)
		go func() { _, err := readPassword(path); done <- err }()
		select {
		case err := <-done:
			if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), path) {
				t.Errorf("%s: %v, want %q naming the file", path, err, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: reading the password file did not return", path)
		}
	}
	if pw, err := readPassword(good); err != nil || pw != "s3cret" {
		t.Fatalf("a password file: %q, %v", pw, err)
	}
}

// The page's helm install fills what no flag names, for the helm backend
// only; a flag's chart keeps the flag's version.
func TestInstallsPagesChart(t *testing.T) {
	h := &page.HelmInstall{Release: "events-to-opensearch", Chart: "oci://registry-1.docker.io/bitnamicharts/kubernetes-event-exporter", Namespace: "opensearch-exporter", Version: "3.6.4"}
	f := Env{Exporter: "builtin"}
	f.InstallsPagesChart(h, true)
	if f.ExporterChart != "" || f.ExporterRelease != "" {
		t.Fatalf("builtin took the page's chart: %+v", f)
	}
	f = Env{Exporter: "helm"}
	f.InstallsPagesChart(h, true)
	if f.ExporterChart != h.Chart || f.ExporterChartVersion != "3.6.4" || f.ExporterRelease != h.Release || f.ExporterNS != h.Namespace {
		t.Fatalf("helm: %+v", f)
	}
	f = Env{Exporter: "helm", ExporterChart: "fixtures/charts/x", ExporterRelease: "mine"}
	f.InstallsPagesChart(h, true)
	if f.ExporterChart != "fixtures/charts/x" || f.ExporterChartVersion != "" || f.ExporterRelease != "mine" || f.ExporterNS != h.Namespace {
		t.Fatalf("flags first: %+v", f)
	}
	// Where the cluster runs containers the page's chart is the default;
	// the local cluster's nodes run none.
	for cl, want := range map[string]string{"kind": "helm", "kubeconfig": "helm", "local": "builtin", "auto": "builtin"} {
		f = Env{Cluster: Cluster{Cluster: cl}, Exporter: "builtin"}
		f.InstallsPagesChart(h, false)
		if f.Exporter != want {
			t.Errorf("--cluster %s: exporter %s, want %s", cl, f.Exporter, want)
		}
	}
}
