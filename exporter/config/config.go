// Package config reads the events exporter's configuration: the same YAML
// the workshop passes to resmoio/kubernetes-event-exporter under `config:`,
// read strictly. Unknown keys are errors that name their path and the
// nearest known key, where the upstream exporter ignores them silently.
package config

import (
	"fmt"
	"time"
)

// Config is the exporter's configuration.
type Config struct {
	LogLevel  string  `yaml:"logLevel"`
	LogFormat string  `yaml:"logFormat"`
	KubeQPS   float32 `yaml:"kubeQPS"`
	KubeBurst int     `yaml:"kubeBurst"`
	// MaxEventAgeSeconds: events last seen longer ago are not exported
	// (on start-up this bounds what the initial list re-exports).
	MaxEventAgeSeconds int64      `yaml:"maxEventAgeSeconds"`
	ClusterName        string     `yaml:"clusterName"`
	Namespace          string     `yaml:"namespace"`
	Route              Route      `yaml:"route"`
	Receivers          []Receiver `yaml:"receivers"`

	// Our additions.
	MetricsAddress string         `yaml:"metricsAddress"`
	LeaderElection LeaderElection `yaml:"leaderElection"`
	// Enrichment bounds the involved-object metadata cache.
	Enrichment Enrichment `yaml:"enrichment"`
}

// Route is a node of the routing tree, as upstream: an event is dropped by
// any matching Drop rule; each matching Match rule with a receiver sends
// it there; sub-routes see it when every Match rule matched.
type Route struct {
	Drop   []Rule  `yaml:"drop"`
	Match  []Rule  `yaml:"match"`
	Routes []Route `yaml:"routes"`
}

// Rule fields are regular expressions matched against the event (empty
// fields match anything); MinCount compares with the event's count.
type Rule struct {
	Labels      map[string]string `yaml:"labels"`
	Annotations map[string]string `yaml:"annotations"`
	Message     string            `yaml:"message"`
	APIVersion  string            `yaml:"apiVersion"`
	Kind        string            `yaml:"kind"`
	Namespace   string            `yaml:"namespace"`
	Reason      string            `yaml:"reason"`
	Type        string            `yaml:"type"`
	MinCount    int32             `yaml:"minCount"`
	Component   string            `yaml:"component"`
	Host        string            `yaml:"host"`
	Receiver    string            `yaml:"receiver"`
}

// Receiver is a named destination; only OpenSearch is supported.
type Receiver struct {
	Name       string      `yaml:"name"`
	OpenSearch *OpenSearch `yaml:"opensearch"`
}

// OpenSearch is the upstream opensearch receiver plus our additions (aws,
// passwordFile, bulk, queue).
type OpenSearch struct {
	Hosts       []string `yaml:"hosts"`
	Index       string   `yaml:"index"`
	IndexFormat string   `yaml:"indexFormat"`
	UseEventID  *bool    `yaml:"useEventID"`
	DeDot       bool     `yaml:"deDot"`
	Username    string   `yaml:"username"`
	Password    string   `yaml:"password"`
	// PasswordFile is read at start-up (a mounted Secret).
	PasswordFile string `yaml:"passwordFile"`
	TLS          TLS    `yaml:"tls"`
	AWS          *AWS   `yaml:"aws"`
	Bulk         Bulk   `yaml:"bulk"`
	Queue        Queue  `yaml:"queue"`
	// Layout is the exporter's document shape; kept for compatibility with
	// upstream values files, only the default (the event) is supported.
	Layout map[string]any `yaml:"layout"`
}

// TLS settings; verification is on unless InsecureSkipVerify is set.
type TLS struct {
	InsecureSkipVerify bool   `yaml:"insecureSkipVerify"`
	ServerName         string `yaml:"serverName"`
	CAFile             string `yaml:"caFile"`
	CertFile           string `yaml:"certFile"`
	KeyFile            string `yaml:"keyFile"`
}

// AWS signs requests with SigV4 (Amazon OpenSearch Service "es" or
// Serverless "aoss"); credentials come from the AWS default chain.
type AWS struct {
	Region  string `yaml:"region"`
	Service string `yaml:"service"`
}

// Bulk sizes the bulk requests.
type Bulk struct {
	MaxDocs       int           `yaml:"maxDocs"`
	MaxBytes      int           `yaml:"maxBytes"`
	FlushInterval time.Duration `yaml:"flushInterval"`
	// MinInterval spaces the requests of a stream of documents (see
	// sink.Config.MinInterval).
	MinInterval time.Duration `yaml:"minInterval"`
}

// Queue bounds what waits for OpenSearch.
type Queue struct {
	// MaxPending is the most distinct events held while OpenSearch is
	// slow or down; when reached, the watch waits (nothing is dropped).
	MaxPending int `yaml:"maxPending"`
}

// LeaderElection lets several replicas run with one active.
type LeaderElection struct {
	Enabled   bool   `yaml:"enabled"`
	Namespace string `yaml:"namespace"`
	Name      string `yaml:"name"`
}

// Enrichment bounds the involved-object lookups.
type Enrichment struct {
	Disabled  bool          `yaml:"disabled"`
	CacheSize int           `yaml:"cacheSize"`
	CacheTTL  time.Duration `yaml:"cacheTTL"`
	// Wait is how long an event waits for its object's lookup before it
	// is exported without and updated when the lookup lands (default
	// 150ms): enrichment never holds export to the API's rate limit.
	Wait time.Duration `yaml:"wait"`
	// Concurrency bounds the lookups in flight (default 16); all of them
	// share kubeQPS.
	Concurrency int `yaml:"concurrency"`
}

// Defaults the exporter uses where the file is silent.
const (
	DefaultMaxEventAgeSeconds = 3600
	DefaultFlushInterval      = 250 * time.Millisecond
	DefaultMaxDocs            = 500
	DefaultMinInterval        = 20 * time.Millisecond
	DefaultMaxBytes           = 5 << 20
	DefaultMaxPending         = 100000
)

// SetDefaults fills unset fields.
func (c *Config) SetDefaults() {
	if c.LogLevel == "" {
		c.LogLevel = "info"
	}
	if c.LogFormat == "" {
		c.LogFormat = "json"
	}
	if c.KubeQPS == 0 {
		c.KubeQPS = 50
	}
	if c.KubeBurst == 0 {
		c.KubeBurst = 100
	}
	if c.MaxEventAgeSeconds == 0 {
		// Upstream's default is 5 s, which loses every event that happens
		// while the exporter restarts; re-sending is idempotent here.
		c.MaxEventAgeSeconds = DefaultMaxEventAgeSeconds
	}
	if c.MetricsAddress == "" {
		c.MetricsAddress = ":2112"
	}
	if c.LeaderElection.Name == "" {
		c.LeaderElection.Name = "events-exporter"
	}
	if c.Enrichment.CacheSize == 0 {
		c.Enrichment.CacheSize = 1024
	}
	if c.Enrichment.CacheTTL == 0 {
		c.Enrichment.CacheTTL = 30 * time.Second
	}
	for i := range c.Receivers {
		if oc := c.Receivers[i].OpenSearch; oc != nil {
			if oc.UseEventID == nil {
				// Document id = event UID makes re-sending idempotent: the
				// basis of "nothing lost, nothing doubled".
				t := true
				oc.UseEventID = &t
			}
			if oc.Bulk.FlushInterval == 0 {
				oc.Bulk.FlushInterval = DefaultFlushInterval
			}
			if oc.Bulk.MinInterval == 0 {
				oc.Bulk.MinInterval = DefaultMinInterval
			}
			if oc.Bulk.MaxDocs == 0 {
				oc.Bulk.MaxDocs = DefaultMaxDocs
			}
			if oc.Bulk.MaxBytes == 0 {
				oc.Bulk.MaxBytes = DefaultMaxBytes
			}
			if oc.Queue.MaxPending == 0 {
				oc.Queue.MaxPending = DefaultMaxPending
			}
		}
	}
}

// Problem is one thing wrong with a configuration, located in its file.
type Problem struct {
	Path    string // e.g. config.receivers[0].opensearch.hosts
	Line    int
	Column  int
	Message string
}

func (p Problem) Error() string {
	if p.Line > 0 {
		return fmt.Sprintf("line %d: %s: %s", p.Line, p.Path, p.Message)
	}
	return fmt.Sprintf("%s: %s", p.Path, p.Message)
}

// Problems is every problem found, in file order.
type Problems []Problem

func (ps Problems) Error() string {
	s := ""
	for i, p := range ps {
		if i > 0 {
			s += "\n"
		}
		s += p.Error()
	}
	return s
}
