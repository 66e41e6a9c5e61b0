package providers

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"
)

// Endpoint says how to reach an OpenSearch. Its String form and its JSON
// never carry the password.
type Endpoint struct {
	URL      string `json:"url"`
	Username string `json:"username,omitempty"`
	Password string `json:"-"`
	TLS      TLS    `json:"tls,omitzero"`
	// AWS, when set, signs every request with SigV4 (Amazon OpenSearch
	// Service: service "es"; Serverless: "aoss").
	AWS *AWS `json:"aws,omitempty"`
}

// TLS settings. Verification is on unless InsecureSkipVerify is set.
type TLS struct {
	CAFile             string `json:"caFile,omitempty"`
	CertFile           string `json:"certFile,omitempty"`
	KeyFile            string `json:"keyFile,omitempty"`
	ServerName         string `json:"serverName,omitempty"`
	InsecureSkipVerify bool   `json:"insecureSkipVerify,omitempty"`
}

// AWS SigV4 settings; credentials come from the AWS config chain (env,
// shared files, instance roles), never from flags.
type AWS struct {
	Region  string `json:"region,omitempty"`
	Service string `json:"service,omitempty"`
}

func (e Endpoint) String() string {
	s := e.URL
	if e.Username != "" {
		s += " (user " + e.Username + ")"
	}
	if e.AWS != nil {
		s += fmt.Sprintf(" (SigV4 %s/%s)", e.AWS.Service, e.AWS.Region)
	}
	return s
}

// LogValue keeps the password out of structured logs.
func (e Endpoint) LogValue() slog.Value { return slog.StringValue(e.String()) }

// requestTimeout bounds each request so a stalled server cannot hang a run.
const requestTimeout = 30 * time.Second

// NewClient builds an opensearch-go client for the endpoint. It does not
// contact the server.
func NewClient(ctx context.Context, e Endpoint) (*opensearchapi.Client, error) {
	u, err := url.Parse(e.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("OpenSearch URL %q: want http(s)://host[:port]", e.URL)
	}
	if u.User != nil {
		return nil, fmt.Errorf("OpenSearch URL %s: put credentials in --opensearch-username and a password file or $OPENSEARCH_PASSWORD, not in the URL", u.Redacted())
	}
	tlsCfg, err := e.TLS.config()
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsCfg
	cfg := opensearch.Config{
		Addresses:      []string{e.URL},
		Username:       e.Username,
		Password:       e.Password,
		Transport:      transport,
		RequestTimeout: requestTimeout,
		// Health checks and node discovery are for long-lived clusters of
		// many nodes; here they only add requests to an endpoint we know.
		HealthCheckMaxRetries: -1,
	}
	if e.AWS != nil {
		service := e.AWS.Service
		if service == "" {
			service = "es"
		}
		if service != "es" && service != "aoss" {
			return nil, fmt.Errorf("AWS SigV4 service %q: want es (OpenSearch Service) or aoss (Serverless)", service)
		}
		var opts []func(*config.LoadOptions) error
		if e.AWS.Region != "" {
			opts = append(opts, config.WithRegion(e.AWS.Region))
		}
		awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("failed to load AWS config for SigV4: %w", err)
		}
		if awsCfg.Region == "" {
			return nil, errors.New("AWS SigV4 needs a region: pass --aws-region or set AWS_REGION")
		}
		s, err := awsv2.NewSignerWithService(awsCfg, service)
		if err != nil {
			return nil, fmt.Errorf("failed to create SigV4 signer: %w", err)
		}
		cfg.Signer = s
	}
	c, err := opensearchapi.NewClient(opensearchapi.Config{Client: cfg})
	if err != nil {
		return nil, fmt.Errorf("failed to create OpenSearch client for %s: %w", e, err)
	}
	return c, nil
}

func (t TLS) config() (*tls.Config, error) {
	cfg := &tls.Config{ServerName: t.ServerName, InsecureSkipVerify: t.InsecureSkipVerify, MinVersion: tls.VersionTLS12} // #nosec G402 -- only when the user asks
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("OpenSearch CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("OpenSearch CA file %s: no PEM certificate in it", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if (t.CertFile == "") != (t.KeyFile == "") {
		return nil, errors.New("OpenSearch client certificate: give both a certificate file and a key file")
	}
	if t.CertFile != "" {
		pair, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("OpenSearch client certificate %s / key %s: %w", t.CertFile, t.KeyFile, err)
		}
		cfg.Certificates = []tls.Certificate{pair}
	}
	return cfg, nil
}

// Ping makes the first contact with the server and turns what can go
// wrong into an error that names the endpoint and the likely fix.
func Ping(ctx context.Context, c *opensearchapi.Client, e Endpoint) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return err
	}
	resp, err := c.Client.Perform(req)
	if err != nil {
		return explainTransport(e, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return fmt.Errorf("OpenSearch at %s: 401 Unauthorized: wrong credentials for user %q (check --opensearch-username and the password file or $OPENSEARCH_PASSWORD)", e.URL, e.Username)
	case resp.StatusCode == http.StatusForbidden:
		return fmt.Errorf("OpenSearch at %s: 403 Forbidden: the credentials are valid but lack permission: %s", e.URL, strings.TrimSpace(string(body)))
	case resp.StatusCode >= 300:
		return fmt.Errorf("OpenSearch at %s answered %s: %s", e.URL, resp.Status, strings.TrimSpace(string(body)))
	}
	return nil
}

func explainTransport(e Endpoint, err error) error {
	var cert *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	if errors.As(err, &cert) || errors.As(err, &unknownAuthority) || errors.As(err, &hostname) {
		return fmt.Errorf("OpenSearch at %s: TLS certificate not trusted (%v); pass the CA with --opensearch-ca, fix --opensearch-server-name, or (not recommended) --opensearch-insecure-skip-verify", e.URL, err)
	}
	return fmt.Errorf("OpenSearch at %s is unreachable: %v; check the URL and that it is running", e.URL, err)
}
