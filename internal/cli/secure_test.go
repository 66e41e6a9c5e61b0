package cli

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io/fs"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/opensearch"
	"github.com/eventcheck/eventcheck/internal/pki"
	"github.com/eventcheck/eventcheck/internal/sigv4check"
)

// The path a workshop user takes, through a real secured OpenSearch: the
// url provider over HTTPS with a CA and basic auth as the workshop's user
// (who may not put index templates), with our exporter and as a process;
// an untrusted CA and a wrong password refused with exit 3; SigV4 through
// an endpoint that verifies signatures with the AWS SDK's signer. No
// secret is in any output or artifact. Not parallel: the SigV4 runs set
// the AWS credentials in the environment, where the SDK reads them.
func TestSecuredURLPath(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a secured OpenSearch and local clusters; skipped with -short")
	}
	ctx := context.Background()
	osp, err := opensearch.New(opensearch.Local, opensearch.WithSecurity(true))
	if err != nil {
		t.Fatal(err)
	}
	inst, err := osp.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = osp.Stop(context.WithoutCancel(ctx)) })
	admin, workshop := inst.Users[0], inst.Users[1]
	dir := t.TempDir()
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	passwordFile := write("workshop.password", workshop.Password+"\n")
	wrongPassword := "wrong-" + workshop.Password[:8]
	wrongFile := write("wrong.password", wrongPassword+"\n")
	other, err := pki.NewCA("a CA that signed nothing here")
	if err != nil {
		t.Fatal(err)
	}
	untrusted := write("other-ca.pem", string(other.PEM))
	secrets := []string{admin.Password, workshop.Password, wrongPassword}
	exporterBin := goBuild(t, dir, "../../cmd/events-exporter")

	// run runs the story on a local cluster of its own with artifacts and
	// reports under a fresh directory, and checks no secret is in any.
	run := func(t *testing.T, args ...string) (int, string, string) {
		t.Helper()
		out := t.TempDir()
		all := append([]string{"run", "--cluster", "local", "--localcluster-bin", "../../bin/localcluster",
			"--artifacts", out, "--junit", filepath.Join(out, "junit.xml"), "--json", filepath.Join(out, "report.json"),
			"--report", filepath.Join(out, "report.html")}, args...)
		code, text := eventcheck(t, ctx, all...)
		noSecretIn(t, text, out, secrets...)
		return code, text, out
	}
	asWorkshop := []string{"--opensearch", "url", "--opensearch-url", workshop.URL, "--opensearch-ca", workshop.TLS.CAFile,
		"--opensearch-username", workshop.Username, "--opensearch-password-file", passwordFile}

	t.Run("an untrusted CA exits 3 with a TLS error", func(t *testing.T) {
		code, out, _ := run(t, "--opensearch", "url", "--opensearch-url", workshop.URL, "--opensearch-ca", untrusted,
			"--opensearch-username", workshop.Username, "--opensearch-password-file", passwordFile)
		if code != exitcode.Environment || !strings.Contains(out, "TLS certificate not trusted") || !strings.Contains(out, workshop.URL) || !strings.Contains(out, "--opensearch-ca") {
			t.Fatalf("exit %d; want 3 with a TLS error naming %s and --opensearch-ca:\n%s", code, workshop.URL, out)
		}
	})
	t.Run("a wrong password exits 3 naming the endpoint and the user", func(t *testing.T) {
		code, out, _ := run(t, "--opensearch", "url", "--opensearch-url", workshop.URL, "--opensearch-ca", workshop.TLS.CAFile,
			"--opensearch-username", workshop.Username, "--opensearch-password-file", wrongFile)
		if code != exitcode.Environment || !strings.Contains(out, "401 Unauthorized") || !strings.Contains(out, workshop.URL) || !strings.Contains(out, `user "workshop"`) {
			t.Fatalf("exit %d; want 3 with a 401 naming %s and user workshop:\n%s", code, workshop.URL, out)
		}
	})
	t.Run("the story as the workshop's user, our exporter, without our template", func(t *testing.T) {
		code, out, artifacts := run(t, asWorkshop...)
		if code != 0 || !strings.Contains(out, "note: index template eks-kubernetes-events not applied") || !strings.Contains(out, "indices:admin/index_template/put") {
			t.Fatalf("exit %d; want a pass with a note on the template:\n%s", code, out)
		}
		var rep struct{ Notes []string }
		data, err := os.ReadFile(filepath.Join(artifacts, "report.json"))
		if err != nil || json.Unmarshal(data, &rep) != nil || len(rep.Notes) != 1 || !strings.Contains(rep.Notes[0], "dynamic mappings") {
			t.Errorf("report.json notes %q (%v); want the template's", rep.Notes, err)
		}
		if html, _ := os.ReadFile(filepath.Join(artifacts, "report.html")); !strings.Contains(string(html), "not applied") {
			t.Error("report.html does not say the template was not applied")
		}
	})
	t.Run("the story as the workshop's user, our exporter as a process", func(t *testing.T) {
		code, out, _ := run(t, append(asWorkshop, "--exporter", "process",
			"--exporter-command", exporterBin+" -conf {config} -kubeconfig {kubeconfig} -metrics-address 127.0.0.1:0")...)
		if code != 0 || !strings.Contains(out, " passed, 0 failed") {
			t.Fatalf("exit %d\n%s", code, out)
		}
	})

	// SigV4: an HTTPS endpoint that checks signatures for eu-west-1/es and
	// passes what it accepts to the secured OpenSearch as its admin (as a
	// domain maps an IAM role to its master user).
	creds := aws.Credentials{AccessKeyID: "AKIDEVENTCHECKTEST", SecretAccessKey: "eventcheck-sigv4-" + workshop.Password[:12]}
	secrets = append(secrets, creds.SecretAccessKey)
	signed := sigV4Endpoint(t, inst, creds)
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(dir, "no-aws-config"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(dir, "no-aws-credentials"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", creds.AccessKeyID)
	t.Setenv("AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey)
	sigv4 := func(region, service string) []string {
		return []string{"--opensearch", "url", "--opensearch-url", signed.url, "--opensearch-ca", signed.caFile,
			"--aws-region", region, "--aws-service", service}
	}
	t.Run("the story through SigV4 checked by the SDK's signer", func(t *testing.T) {
		before := signed.accepted.Load()
		code, out, _ := run(t, sigv4("eu-west-1", "es")...)
		if code != 0 || !strings.Contains(out, " passed, 0 failed") {
			t.Fatalf("exit %d\n%s", code, out)
		}
		if n := signed.accepted.Load() - before; n < 10 {
			t.Errorf("the SigV4 endpoint accepted %d requests; the checks and the exporter should have gone through it", n)
		}
	})
	for _, tc := range []struct{ name, region, service, want string }{
		{"a wrong region", "us-east-1", "es", "signed for another region"},
		{"a wrong service", "eu-west-1", "aoss", "signed for another service"},
	} {
		t.Run(tc.name+" exits 3 with a SigV4 error", func(t *testing.T) {
			code, out, _ := run(t, sigv4(tc.region, tc.service)...)
			if code != exitcode.Environment || !strings.Contains(out, "SigV4 signature rejected") || !strings.Contains(out, tc.want) || !strings.Contains(out, "--aws-region") {
				t.Fatalf("exit %d; want 3 naming %q:\n%s", code, tc.want, out)
			}
		})
	}
}

// noSecretIn fails when any secret is in the output or in any file under dir.
func noSecretIn(t *testing.T, out, dir string, secrets ...string) {
	t.Helper()
	for _, s := range secrets {
		if strings.Contains(out, s) {
			t.Errorf("the output carries a secret (%d characters)", len(s))
		}
	}
	files := 0
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		files++
		for _, s := range secrets {
			if strings.Contains(string(data), s) {
				t.Errorf("%s carries a secret (%d characters)", path, len(s))
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if files == 0 {
		t.Errorf("no artifact under %s to look in", dir)
	}
}

// signedEndpoint is a SigV4-checking endpoint and what it counts.
type signedEndpoint struct {
	url, caFile string
	accepted    interface{ Load() int64 }
}

// sigV4Endpoint serves HTTPS on loopback (its own CA) and forwards what
// sigv4check accepts to inst as its admin.
func sigV4Endpoint(t *testing.T, inst *opensearch.Instance, creds aws.Credentials) signedEndpoint {
	t.Helper()
	admin := inst.Users[0]
	target, err := url.Parse(admin.URL)
	if err != nil {
		t.Fatal(err)
	}
	pem, err := os.ReadFile(admin.TLS.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	upstream := &httputil.ReverseProxy{
		Rewrite: func(r *httputil.ProxyRequest) {
			r.SetURL(target)
			r.Out.SetBasicAuth(admin.Username, admin.Password)
		},
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}},
	}
	var accepted counter
	v := &sigv4check.Verifier{Region: "eu-west-1", Service: "es", Credentials: creds, Next: upstream, Accepted: accepted.add}
	ca, err := pki.NewCA("SigV4 endpoint CA")
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue("sigv4", "127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	pair, err := tls.X509KeyPair(leaf.CertPEM, leaf.KeyPEM)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: v, TLSConfig: &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12}}
	go func() { _ = srv.ServeTLS(l, "", "") }()
	t.Cleanup(func() { _ = srv.Close() })
	caFile := filepath.Join(t.TempDir(), "sigv4-ca.pem")
	if err := os.WriteFile(caFile, ca.PEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return signedEndpoint{url: "https://" + l.Addr().String(), caFile: caFile, accepted: &accepted}
}

// counter counts, safely across the server's goroutines.
type counter struct{ n atomic.Int64 }

func (c *counter) add()        { c.n.Add(1) }
func (c *counter) Load() int64 { return c.n.Load() }

// --opensearch local --opensearch-security runs the story as the admin
// (our template applied, no note), and the users' passwords it made are in
// no output or artifact.
func TestStoryOnTheSecuredLocalOpenSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a secured OpenSearch and a local cluster; skipped with -short")
	}
	t.Parallel() // an environment of its own; go test runs two such at a time
	// Kept, to read the passwords after; the OpenSearch user must reach it.
	osDir, err := os.MkdirTemp("", "ec-secured-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(osDir) })
	if err := os.Chmod(osDir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := t.TempDir()
	code, text := eventcheck(t, context.Background(), "run", "--cluster", "local", "--localcluster-bin", "../../bin/localcluster",
		"--opensearch", "local", "--opensearch-security", "--opensearch-dir", osDir,
		"--artifacts", out, "--json", filepath.Join(out, "report.json"), "--report", filepath.Join(out, "report.html"))
	if code != 0 || !strings.Contains(text, " passed, 0 failed") || strings.Contains(text, "note: index template") {
		t.Fatalf("exit %d; want a pass with our template:\n%s", code, text)
	}
	var secrets []string
	for _, u := range []string{"admin", "workshop"} {
		pw, err := os.ReadFile(filepath.Join(osDir, "security", u+".password"))
		if err != nil || len(strings.TrimSpace(string(pw))) < 16 {
			t.Fatalf("%s's password file: %q, %v", u, pw, err)
		}
		secrets = append(secrets, strings.TrimSpace(string(pw)))
	}
	noSecretIn(t, text, out, secrets...)
	for line := range strings.Lines(text) {
		if strings.HasPrefix(line, "PASS: ") {
			t.Log(strings.TrimSpace(line))
		}
	}
}
