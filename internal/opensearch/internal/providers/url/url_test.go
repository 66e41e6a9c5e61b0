package url

import (
	"context"
	"encoding/pem"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers"
)

// fakeOpenSearch answers / and /_cluster/health, and records the last
// request's headers.
type fakeOpenSearch struct {
	mu      sync.Mutex
	headers http.Header
	status  int
}

func (f *fakeOpenSearch) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.headers = r.Header.Clone()
	status := f.status
	f.mu.Unlock()
	if status != 0 {
		w.WriteHeader(status)
		_, _ = w.Write([]byte(`{"error":"denied"}`))
		return
	}
	w.Header().Set("Content-Type", "application/json")
	switch r.URL.Path {
	case "/":
		_, _ = w.Write([]byte(`{"name":"n","cluster_name":"c","version":{"number":"2.19.6","distribution":"opensearch"}}`))
	case "/_cluster/health":
		_, _ = w.Write([]byte(`{"cluster_name":"c","status":"green"}`))
	default:
		http.NotFound(w, r)
	}
}

func (f *fakeOpenSearch) lastHeaders() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.headers
}

func start(t *testing.T, e providers.Endpoint) error {
	t.Helper()
	p, err := New(providers.Options{Endpoint: e, ReadyTimeout: 5 * time.Second})
	if err != nil {
		return err
	}
	_, err = p.Start(context.Background())
	return err
}

func TestTLSVerificationIsOnByDefault(t *testing.T) {
	srv := httptest.NewUnstartedServer(&fakeOpenSearch{})
	srv.Config.ErrorLog = log.New(io.Discard, "", 0) // the rejected handshake is expected
	srv.StartTLS()
	defer srv.Close()

	err := start(t, providers.Endpoint{URL: srv.URL})
	if err == nil {
		t.Fatal("connected to an untrusted certificate without a CA")
	}
	host := strings.TrimPrefix(srv.URL, "https://")
	for _, want := range []string{host, "certificate", "--opensearch-ca"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error should name %q: %v", want, err)
		}
	}

	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := start(t, providers.Endpoint{URL: srv.URL, TLS: providers.TLS{CAFile: ca}}); err != nil {
		t.Fatalf("with the CA: %v", err)
	}
	if err := start(t, providers.Endpoint{URL: srv.URL, TLS: providers.TLS{InsecureSkipVerify: true}}); err != nil {
		t.Fatalf("with verification explicitly off: %v", err)
	}
	bad := filepath.Join(t.TempDir(), "bad.pem")
	_ = os.WriteFile(bad, []byte("nope"), 0o644)
	if err := start(t, providers.Endpoint{URL: srv.URL, TLS: providers.TLS{CAFile: bad}}); err == nil || !strings.Contains(err.Error(), bad) {
		t.Fatalf("bad CA file error = %v", err)
	}
}

func TestWrongCredentialsAre401AndPasswordIsNeverShown(t *testing.T) {
	fake := &fakeOpenSearch{status: http.StatusUnauthorized}
	srv := httptest.NewServer(fake)
	defer srv.Close()
	e := providers.Endpoint{URL: srv.URL, Username: "admin", Password: "s3cr3t-Pa55"}
	err := start(t, e)
	if err == nil || !strings.Contains(err.Error(), "401") || !strings.Contains(err.Error(), "wrong credentials") {
		t.Fatalf("error = %v", err)
	}
	if strings.Contains(err.Error(), e.Password) || strings.Contains(e.String(), e.Password) {
		t.Fatal("password leaked")
	}
	if got := fake.lastHeaders().Get("Authorization"); !strings.HasPrefix(got, "Basic ") {
		t.Fatalf("Authorization = %q, want basic auth", got)
	}
}

func TestUnreachableURLIsBoundedAndNamed(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	begin := time.Now()
	err = start(t, providers.Endpoint{URL: "http://" + addr})
	if err == nil || !strings.Contains(err.Error(), addr) || !strings.Contains(err.Error(), "unreachable") {
		t.Fatalf("error = %v", err)
	}
	if d := time.Since(begin); d > reachTimeout+5*time.Second {
		t.Fatalf("took %s", d)
	}
	for _, bad := range []string{"opensearch:9200", "ftp://x", "http://user:pw@host:9200"} {
		err := start(t, providers.Endpoint{URL: bad})
		if err == nil || strings.Contains(err.Error(), "pw@") {
			t.Errorf("URL %q: error = %v", bad, err)
		}
	}
}

// SigV4 is checked on the request itself, with fixed fake credentials and
// no AWS access.
func TestSigV4SignsEveryRequest(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY")
	t.Setenv("AWS_CONFIG_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", filepath.Join(t.TempDir(), "none"))
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	fake := &fakeOpenSearch{}
	srv := httptest.NewServer(fake)
	defer srv.Close()

	for _, service := range []string{"es", "aoss"} {
		if err := start(t, providers.Endpoint{URL: srv.URL, AWS: &providers.AWS{Region: "eu-west-1", Service: service}}); err != nil {
			t.Fatal(err)
		}
		h := fake.lastHeaders()
		auth := h.Get("Authorization")
		if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/") || !strings.Contains(auth, "/eu-west-1/"+service+"/aws4_request") {
			t.Fatalf("Authorization = %q", auth)
		}
		for _, signed := range []string{"host", "x-amz-date"} {
			if !strings.Contains(auth, signed) {
				t.Errorf("SignedHeaders lack %s: %s", signed, auth)
			}
		}
		if h.Get("X-Amz-Date") == "" || h.Get("X-Amz-Content-Sha256") == "" {
			t.Errorf("missing X-Amz-Date / X-Amz-Content-Sha256: %v", h)
		}
		if strings.Contains(auth, "wJalrXUtnFEMI") {
			t.Fatal("secret key in the header")
		}
	}
	err := start(t, providers.Endpoint{URL: srv.URL, AWS: &providers.AWS{Region: "eu-west-1", Service: "s3"}})
	if err == nil || !strings.Contains(err.Error(), `"s3"`) {
		t.Fatalf("bad service error = %v", err)
	}
}
