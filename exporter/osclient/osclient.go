// Package osclient builds opensearch-go clients from connection settings
// (hosts, basic auth, TLS, AWS SigV4) and makes the first contact with a
// server, turning what goes wrong into errors that say what to fix. The
// exporter and eventcheck's own OpenSearch providers share it.
package osclient

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"github.com/opensearch-project/opensearch-go/v4/signer/awsv2"

	"github.com/eventcheck/eventcheck/exporter/redact"
)

// Config says how to reach OpenSearch.
type Config struct {
	Hosts    []string
	Username string
	Password string
	TLS      TLS
	AWS      *AWS
	// RequestTimeout bounds each request (default 30s).
	RequestTimeout time.Duration
	// DisableRetry leaves retries to the caller (the exporter's sink
	// retries with its own backoff and must see every failure).
	DisableRetry bool
}

// TLS settings. Verification is on unless InsecureSkipVerify is set.
type TLS struct {
	CAFile             string
	CertFile           string
	KeyFile            string
	ServerName         string
	InsecureSkipVerify bool
}

// AWS SigV4 settings; credentials come from the AWS default chain.
type AWS struct {
	Region  string
	Service string // "es" (OpenSearch Service, default) or "aoss" (Serverless)
}

// New builds a client. It does not contact the server.
func New(ctx context.Context, c Config) (*opensearchapi.Client, error) {
	if len(c.Hosts) == 0 {
		return nil, errors.New("no OpenSearch host given")
	}
	for _, h := range c.Hosts {
		if err := CheckURL(h); err != nil {
			return nil, fmt.Errorf("OpenSearch URL %w", err)
		}
	}
	tlsCfg, err := c.TLS.config()
	if err != nil {
		return nil, err
	}
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.TLSClientConfig = tlsCfg
	// Responses uncompressed: bulk responses, cut to each item's status,
	// are small, and gzip cost both ends CPU on every one of them.
	transport.DisableCompression = true
	timeout := c.RequestTimeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	cfg := opensearch.Config{
		Addresses:      c.Hosts,
		Username:       c.Username,
		Password:       c.Password,
		Transport:      transport,
		RequestTimeout: timeout,
		DisableRetry:   c.DisableRetry,
		// Health checks and discovery are for many-node clusters behind
		// one client; here they only add requests.
		HealthCheckMaxRetries: -1,
	}
	if c.AWS != nil {
		service := c.AWS.Service
		if service == "" {
			service = "es"
		}
		if service != "es" && service != "aoss" {
			return nil, fmt.Errorf("AWS SigV4 service %q: want es (OpenSearch Service) or aoss (Serverless)", service)
		}
		var opts []func(*config.LoadOptions) error
		if c.AWS.Region != "" {
			opts = append(opts, config.WithRegion(c.AWS.Region))
		}
		awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
		if err != nil {
			return nil, fmt.Errorf("failed to load AWS config for SigV4: %w", err)
		}
		if awsCfg.Region == "" {
			return nil, errors.New("AWS SigV4 needs a region: set it in the configuration or AWS_REGION")
		}
		s, err := awsv2.NewSignerWithService(awsCfg, service)
		if err != nil {
			return nil, fmt.Errorf("failed to create SigV4 signer: %w", err)
		}
		cfg.Signer = s
	}
	client, err := opensearchapi.NewClient(opensearchapi.Config{Client: cfg})
	if err != nil {
		return nil, fmt.Errorf("failed to create OpenSearch client for %v: %w", c.Hosts, err)
	}
	return client, nil
}

// CheckURL says what is wrong with an OpenSearch URL, if anything. The
// message names the URL with its credentials masked (redact.URL): a URL
// that does not parse is the one most likely to be printed.
func CheckURL(h string) error {
	shown := strconv.Quote(redact.URL(h))
	u, err := url.Parse(h)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || strings.ContainsAny(u.Host, " \t"):
		return fmt.Errorf("%s: want http(s)://host[:port]", shown)
	case u.User != nil:
		return fmt.Errorf("%s: put credentials in the username and password settings, not in the URL", shown)
	case u.RawQuery != "" || u.Fragment != "" || strings.ContainsAny(h, "?#"):
		return fmt.Errorf("%s: a query or fragment has no place in an OpenSearch URL: want http(s)://host[:port][/path]", shown)
	}
	return nil
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

// Ping makes one request to the server and explains a failure: the
// endpoint, what went wrong (401, 403, TLS, unreachable) and what to do.
// where names the endpoint in messages; username is named on a 401.
func Ping(ctx context.Context, c *opensearchapi.Client, where, username string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "/", nil)
	if err != nil {
		return err
	}
	resp, err := c.Client.Perform(req)
	if err != nil {
		return Explain(where, err)
	}
	defer resp.Body.Close()
	return ExplainStatus(where, username, resp)
}

// ExplainStatus turns an unsuccessful HTTP response into an error.
func ExplainStatus(where, username string, resp *http.Response) error {
	if resp.StatusCode < 300 {
		return nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	return ExplainStatusError(where, username, resp.StatusCode, errors.New(strings.TrimSpace(string(body))))
}

// ExplainStatusError says what an error status from OpenSearch means, for
// errors the typed API returns (which have read the body already).
func ExplainStatusError(where, username string, status int, err error) error {
	if status == http.StatusForbidden && err != nil {
		if why := sigV4Rejection(err.Error()); why != "" {
			return fmt.Errorf("OpenSearch at %s: 403 Forbidden: %w: %s (%v)", where, ErrSigV4Rejected, why, err)
		}
	}
	switch status {
	case http.StatusUnauthorized:
		return fmt.Errorf("OpenSearch at %s: 401 Unauthorized: wrong credentials for user %q", where, username)
	case http.StatusForbidden:
		return fmt.Errorf("OpenSearch at %s: 403 Forbidden: the credentials are valid but lack permission: %v", where, err)
	}
	return fmt.Errorf("OpenSearch at %s answered %d %s: %v", where, status, http.StatusText(status), err)
}

// ErrSigV4Rejected says the server refused a request's SigV4 signature.
var ErrSigV4Rejected = errors.New("SigV4 signature rejected")

// sigV4Rejection says what Amazon OpenSearch Service's answer to a bad
// signature means, "" when the answer is not one.
func sigV4Rejection(body string) string {
	switch {
	case strings.Contains(body, "scoped to a valid region"):
		return "signed for another region than the domain's; set the domain's region"
	case strings.Contains(body, "scoped to correct service"):
		return "signed for another service; es is OpenSearch Service, aoss Serverless"
	case strings.Contains(body, "signature we calculated does not match"):
		return "the signature does not match: a wrong secret key, or the request changed after signing (a proxy rewriting it)"
	case strings.Contains(body, "security token included in the request is invalid"):
		return "the access key is unknown to AWS"
	case strings.Contains(body, "Signature expired"):
		return "the signing time is off: check this machine's clock"
	}
	return ""
}

// Explain turns a transport error into one that says what to fix.
func Explain(where string, err error) error {
	var cert *tls.CertificateVerificationError
	var unknownAuthority x509.UnknownAuthorityError
	var hostname x509.HostnameError
	if errors.As(err, &cert) || errors.As(err, &unknownAuthority) || errors.As(err, &hostname) {
		return fmt.Errorf("OpenSearch at %s: TLS certificate not trusted (%v); give the CA file, fix the server name, or (not recommended) skip verification explicitly", where, err)
	}
	return fmt.Errorf("OpenSearch at %s is unreachable: %v; check the URL and that it is running", where, err)
}
