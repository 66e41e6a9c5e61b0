package local

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/eventcheck/eventcheck/exporter/osclient"
	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers"
	"github.com/eventcheck/eventcheck/internal/pins"
)

// The secured distribution serves HTTPS from the run's CA only, refuses
// anonymous and wrong credentials, and gives the workshop's user the
// events indices and nothing more; it runs as a non-root user.
func TestSecuredOpenSearch(t *testing.T) {
	if testing.Short() {
		t.Skip("starts OpenSearch; skipped with -short")
	}
	ctx := context.Background()
	// A kept directory, to restart on the same data; the OpenSearch user
	// must reach it.
	dir, err := os.MkdirTemp("", "ec-secured-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	p, err := New(providers.Options{Security: true, Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := p.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = p.Stop(ctx) })
	if !strings.HasPrefix(inst.Endpoint.URL, "https://") || inst.Endpoint.TLS.CAFile == "" || len(inst.Users) != 2 {
		t.Fatalf("endpoint %v, users %v: want https with a CA file and two users", inst.Endpoint, inst.Users)
	}
	info, err := inst.Client.Info(ctx, nil)
	if err != nil || info.Version.Number != pins.OpenSearchSecuredVersion {
		t.Fatalf("info = %+v, %v; want version %s", info, err, pins.OpenSearchSecuredVersion)
	}
	if os.Geteuid() == 0 {
		st, err := os.Stat(filepath.Join("/proc", strconv.Itoa(p.(*provider).Pid())))
		if err != nil || st.Sys().(*syscall.Stat_t).Uid == 0 {
			t.Errorf("OpenSearch runs as root (%v)", err)
		}
	}

	// Without the CA: not trusted.
	noCA := inst.Endpoint
	noCA.TLS.CAFile = ""
	if err := ping(ctx, t, noCA); err == nil || !strings.Contains(err.Error(), "TLS certificate not trusted") {
		t.Errorf("ping without the CA = %v; want a TLS error", err)
	}
	// Plain HTTP to the HTTPS port is refused.
	if err := ping(ctx, t, providers.Endpoint{URL: strings.Replace(inst.Endpoint.URL, "https", "http", 1)}); err == nil {
		t.Error("plain HTTP answered")
	}
	wrong := inst.Endpoint
	wrong.Password += "x"
	if err := ping(ctx, t, wrong); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("ping with a wrong password = %v; want 401", err)
	}

	workshop := inst.Users[1]
	if workshop.Username != WorkshopUser {
		t.Fatalf("second user %q, want %q", workshop.Username, WorkshopUser)
	}
	c, err := providers.NewClient(ctx, workshop)
	if err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, t, workshop); err != nil {
		t.Fatal(err)
	}
	doc := func(index string) int {
		resp, err := c.Client.Perform(mustRequest(t, http.MethodPut, "/"+index+"/_doc/1?refresh=true", `{"reason":"FailedMount"}`))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := doc("eks-kubernetes-events"); code != http.StatusCreated && code != http.StatusOK {
		t.Errorf("workshop user writing eks-kubernetes-events: %d", code)
	}
	if _, err := c.Search(ctx, &opensearchapi.SearchReq{Indices: []string{"eks-kubernetes-events*"}}); err != nil {
		t.Errorf("workshop user searching eks-kubernetes-events*: %v", err)
	}
	if code := doc("other"); code != http.StatusForbidden {
		t.Errorf("workshop user writing index other: %d, want 403", code)
	}
	_, err = c.IndexTemplate.Create(ctx, opensearchapi.IndexTemplateCreateReq{IndexTemplate: "x", Body: strings.NewReader(`{"index_patterns":["eks-kubernetes-events*"]}`)})
	var apiErr *opensearch.StructError
	if !errors.As(err, &apiErr) || apiErr.Status != http.StatusForbidden {
		t.Errorf("workshop user putting an index template: %v; want 403", err)
	}

	// Restarted on the same directory: the same CA and users (the
	// security index in the data keeps the first start's).
	if err := p.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	again, err := p.Start(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if again.Users[1].Password != workshop.Password {
		t.Error("a restart made new passwords")
	}
	workshop.URL = again.Endpoint.URL
	if err := ping(ctx, t, workshop); err != nil {
		t.Errorf("the workshop user after a restart: %v", err)
	}
}

func ping(ctx context.Context, t *testing.T, ep providers.Endpoint) error {
	t.Helper()
	c, err := providers.NewClient(ctx, ep)
	if err != nil {
		t.Fatal(err)
	}
	return osclient.Ping(ctx, c, ep.URL, ep.Username)
}

func mustRequest(t *testing.T, method, path, body string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, path, bytes.NewBufferString(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	return req
}
