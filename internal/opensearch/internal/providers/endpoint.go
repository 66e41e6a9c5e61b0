package providers

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/eventcheck/eventcheck/exporter/osclient"
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

// TLS settings. Verification is on unless InsecureSkipVerify is set. The
// fields are osclient.TLS's, with JSON names.
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

// NewClient builds an opensearch-go client for the endpoint. It does not
// contact the server.
func NewClient(ctx context.Context, e Endpoint) (*opensearchapi.Client, error) {
	c := osclient.Config{
		Hosts:    []string{e.URL},
		Username: e.Username,
		Password: e.Password,
		TLS:      osclient.TLS(e.TLS),
	}
	if e.AWS != nil {
		c.AWS = &osclient.AWS{Region: e.AWS.Region, Service: e.AWS.Service}
	}
	return osclient.New(ctx, c)
}

// Ping makes the first contact with the server and turns what can go
// wrong into an error that names the endpoint and the likely fix (in the
// command line's terms).
func Ping(ctx context.Context, c *opensearchapi.Client, e Endpoint) error {
	err := osclient.Ping(ctx, c, e.URL, e.Username)
	if err == nil {
		return nil
	}
	msg := err.Error()
	switch {
	case errors.Is(err, osclient.ErrSigV4Rejected):
		return fmt.Errorf("%w (--aws-region, --aws-service, the AWS credentials)", err)
	case strings.Contains(msg, "TLS certificate not trusted"):
		return fmt.Errorf("%w (--opensearch-ca, --opensearch-server-name, --opensearch-insecure-skip-verify)", err)
	case strings.Contains(msg, "401 Unauthorized"):
		return fmt.Errorf("%w (check --opensearch-username and the password file or $OPENSEARCH_PASSWORD)", err)
	}
	return err
}
