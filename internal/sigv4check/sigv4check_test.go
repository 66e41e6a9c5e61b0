package sigv4check

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/eventcheck/eventcheck/exporter/osclient"
)

// The exporter's client signs as the verifier expects; a wrong region,
// service or secret is refused with the service's message, and the client
// names it.
func TestVerifierChecksTheSDKsSignature(t *testing.T) {
	creds := aws.Credentials{AccessKeyID: "AKIDEVENTCHECK", SecretAccessKey: "s3cr3t-eventcheck"}
	var passed atomic.Int32
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "" {
			t.Error("the signature reached the backend")
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"version":{"number":"2.19.4","distribution":"opensearch"}}`))
	})
	srv := httptest.NewServer(&Verifier{Region: "eu-west-1", Service: "es", Credentials: creds, Next: next, Accepted: func() { passed.Add(1) }})
	t.Cleanup(srv.Close)
	t.Setenv("AWS_CONFIG_FILE", "/nonexistent")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
	t.Setenv("AWS_ACCESS_KEY_ID", creds.AccessKeyID)

	for _, tc := range []struct {
		name, region, service, secret string
		want                          string // "" passes
	}{
		{"signed right", "eu-west-1", "es", creds.SecretAccessKey, ""},
		{"wrong region", "us-east-1", "es", creds.SecretAccessKey, "another region"},
		{"wrong service", "eu-west-1", "aoss", creds.SecretAccessKey, "another service"},
		{"wrong secret", "eu-west-1", "es", "not-the-secret", "signature does not match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("AWS_SECRET_ACCESS_KEY", tc.secret)
			ctx := context.Background()
			c, err := osclient.New(ctx, osclient.Config{Hosts: []string{srv.URL}, AWS: &osclient.AWS{Region: tc.region, Service: tc.service}})
			if err != nil {
				t.Fatal(err)
			}
			before := passed.Load()
			err = osclient.Ping(ctx, c, srv.URL, "")
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("ping = %v", err)
			case tc.want == "" && passed.Load() != before+1:
				t.Fatal("the verifier did not pass the request")
			case tc.want != "" && (!errors.Is(err, osclient.ErrSigV4Rejected) || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("ping = %v; want %v naming %q", err, osclient.ErrSigV4Rejected, tc.want)
			case tc.want != "" && strings.Contains(err.Error(), tc.secret):
				t.Fatalf("the error carries the secret: %v", err)
			}
		})
	}
	// A request with a body (a bulk) verifies too, and one without any
	// signature is refused.
	t.Setenv("AWS_SECRET_ACCESS_KEY", creds.SecretAccessKey)
	resp, err := http.Post(srv.URL+"/_bulk", "application/json", strings.NewReader("{}\n"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden {
		t.Errorf("unsigned request: %d, want 403", resp.StatusCode)
	}
	c, err := osclient.New(context.Background(), osclient.Config{Hosts: []string{srv.URL}, AWS: &osclient.AWS{Region: "eu-west-1", Service: "es"}})
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest(http.MethodPost, "/_bulk", strings.NewReader(`{"index":{"_index":"eks-kubernetes-events"}}`+"\n{}\n"))
	req.Header.Set("Content-Type", "application/x-ndjson")
	resp, err = c.Client.Perform(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("signed bulk: %d, want 200", resp.StatusCode)
	}
}
