package config

import (
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/eventcheck/eventcheck/exporter/osclient"
	"github.com/eventcheck/eventcheck/exporter/redact"
)

// Load reads a configuration file: the exporter's own config, or a whole
// Helm values file whose `config:` block is the config.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("exporter config: %w", err)
	}
	cfg, err := Parse(data, os.LookupEnv)
	if err != nil {
		return nil, fmt.Errorf("exporter config %s: %w", path, err)
	}
	return cfg, nil
}

// Parse decodes a config (or Helm values) document strictly. lookupEnv
// resolves ${VAR} references; a bare $ is left alone.
func Parse(data []byte, lookupEnv func(string) (string, bool)) (*Config, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, err // yaml's message carries the line number
	}
	return ParseDocument(&doc, lookupEnv)
}

// ParseDocument is Parse on a document already read (for example with
// install-time overrides applied to it), so problems keep the lines of the
// file it came from. ${VAR} references are expanded in place.
func ParseDocument(doc *yaml.Node, lookupEnv func(string) (string, bool)) (*Config, error) {
	if doc.Kind != yaml.DocumentNode {
		doc = &yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{doc}}
	}
	if len(doc.Content) == 0 {
		return nil, errors.New("empty document")
	}
	root, prefix := doc.Content[0], ""
	if root.Kind != yaml.MappingNode {
		return nil, Problems{{Line: root.Line, Column: root.Column, Path: "(top level)", Message: "want a mapping of settings"}}
	}
	if v := mappingValue(root, "config"); v != nil {
		// A Helm values file: the chart renders `config:` into the file the
		// exporter reads.
		if v.Kind != yaml.MappingNode {
			return nil, Problems{{Line: v.Line, Column: v.Column, Path: "config", Message: "want a mapping of exporter settings"}}
		}
		root, prefix = v, "config"
	} else if looksLikeHelmValues(root) {
		return nil, Problems{{Line: root.Line, Column: root.Column, Path: "(top level)", Message: "this looks like a Helm values file without a config: block; the exporter's settings go under config:"}}
	}

	d := decoder{positions: map[string]*yaml.Node{}, lookupEnv: lookupEnv, aliased: map[*yaml.Node]bool{}}
	d.walk(root, reflect.TypeFor[Config](), prefix)
	if len(d.problems) > 0 {
		return nil, d.problems
	}
	var cfg Config
	if err := root.Decode(&cfg); err != nil {
		return nil, quoteless(err)
	}
	cfg.SetDefaults()
	if ps := cfg.validate(); len(ps) > 0 {
		for i := range ps {
			ps[i].Path = join(prefix, ps[i].Path)
			if n := d.positions[ps[i].Path]; n != nil {
				ps[i].Line, ps[i].Column = n.Line, n.Column
			}
		}
		return nil, ps
	}
	return &cfg, nil
}

// Positions are kept so validation problems point at their line.
type decoder struct {
	positions map[string]*yaml.Node
	problems  Problems
	lookupEnv func(string) (string, bool)
	aliased   map[*yaml.Node]bool
}

var envRef = regexp.MustCompile(`\$\{([A-Za-z_][A-Za-z0-9_]*)\}`)

// walk checks every key against the Go type, expands ${VAR} in strings and
// records where each path is.
func (d *decoder) walk(n *yaml.Node, t reflect.Type, path string) {
	d.positions[path] = n
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case n.Kind == yaml.AliasNode:
		// Walk each anchor once: nested aliases would otherwise expand
		// exponentially (a "billion laughs" document).
		if !d.aliased[n.Alias] {
			d.aliased[n.Alias] = true
			d.walk(n.Alias, t, path)
		}
	case t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Duration]() && n.Kind != yaml.MappingNode:
		// Said here, not by the decoder, whose message quotes the value
		// (tls=<a secret> passed by mistake).
		d.problems = append(d.problems, Problem{Path: path, Line: n.Line, Column: n.Column, Message: "want a mapping of settings, not " + kindOf(n)})
	case n.Kind == yaml.ScalarNode && n.Tag == "!!str":
		d.expand(n, path)
	case t.Kind() == reflect.Struct && t != reflect.TypeFor[time.Duration]():
		fields := yamlFields(t)
		for i := 0; i+1 < len(n.Content); i += 2 {
			key, val := n.Content[i], n.Content[i+1]
			f, ok := fields[key.Value]
			if !ok {
				msg := "unknown field"
				if s := suggest(key.Value, fields); s != "" {
					msg += fmt.Sprintf(" (did you mean %s?)", s)
				}
				d.problems = append(d.problems, Problem{Path: join(path, key.Value), Line: key.Line, Column: key.Column, Message: msg})
				continue
			}
			d.walk(val, f.Type, join(path, key.Value))
		}
	case t.Kind() == reflect.Map && n.Kind == yaml.MappingNode:
		for i := 0; i+1 < len(n.Content); i += 2 {
			d.walk(n.Content[i+1], t.Elem(), join(path, n.Content[i].Value))
		}
	case t.Kind() == reflect.Slice && n.Kind == yaml.SequenceNode:
		for i, el := range n.Content {
			d.walk(el, t.Elem(), fmt.Sprintf("%s[%d]", path, i))
		}
	}
}

func (d *decoder) expand(n *yaml.Node, path string) {
	n.Value = envRef.ReplaceAllStringFunc(n.Value, func(ref string) string {
		name := envRef.FindStringSubmatch(ref)[1]
		v, ok := d.lookupEnv(name)
		if !ok {
			d.problems = append(d.problems, Problem{Path: path, Line: n.Line, Column: n.Column,
				Message: fmt.Sprintf("environment variable %s is not set (referenced as ${%s})", name, name)})
		}
		return v
	})
}

func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name := strings.Split(f.Tag.Get("yaml"), ",")[0]
		if name == "" || name == "-" {
			continue
		}
		out[name] = f
	}
	return out
}

// suggest returns the known key closest to key, if it is close enough to
// be a typo (the workshop's maxEventsAgeSeconds → maxEventAgeSeconds).
//
// Close enough is at most one edit per three letters of the key (at least
// one): colour is four edits from layout, and no typo of it.
func suggest(key string, fields map[string]reflect.StructField) string {
	best, bestD := "", max(1, len(key)/3)+1
	for name := range fields {
		if d := distance(strings.ToLower(key), strings.ToLower(name)); d < bestD || (d == bestD && name < best) {
			best, bestD = name, d
		}
	}
	return best
}

// distance is the edit distance with transpositions (optimal string
// alignment): idnex is one edit from index.
func distance(a, b string) int {
	d := make([][]int, len(a)+1)
	for i := range d {
		d[i] = make([]int, len(b)+1)
		d[i][0] = i
	}
	for j := range d[0] {
		d[0][j] = j
	}
	for i := 1; i <= len(a); i++ {
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			d[i][j] = min(d[i-1][j]+1, d[i][j-1]+1, d[i-1][j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				d[i][j] = min(d[i][j], d[i-2][j-2]+1)
			}
		}
	}
	return d[len(a)][len(b)]
}

// quoteless is a decoding error without the values yaml quotes in it:
// "cannot unmarshal !!str `hunter2` into int" keeps up to seven
// characters of a password.
func quoteless(err error) error {
	var te *yaml.TypeError
	if !errors.As(err, &te) {
		return errors.New(redact.YAML(err.Error()))
	}
	out := &yaml.TypeError{Errors: make([]string, len(te.Errors))}
	for i, e := range te.Errors {
		out.Errors[i] = redact.YAML(e)
	}
	return out
}

func kindOf(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "an alias"
}

func mappingValue(m *yaml.Node, key string) *yaml.Node {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

// looksLikeHelmValues spots the chart's own keys at the top level.
func looksLikeHelmValues(m *yaml.Node) bool {
	for _, k := range []string{"image", "replicaCount", "serviceAccount", "podAnnotations", "resources"} {
		if mappingValue(m, k) != nil {
			return true
		}
	}
	return false
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

func (c *Config) validate() Problems {
	var ps Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error", "fatal", "panic", "trace":
	default:
		add("logLevel", "%q: want debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "json" && c.LogFormat != "pretty" {
		add("logFormat", "%q: want json or pretty", c.LogFormat)
	}
	if c.MaxEventAgeSeconds < 0 {
		add("maxEventAgeSeconds", "%d: must not be negative", c.MaxEventAgeSeconds)
	}
	if c.KubeQPS < 0 || c.KubeBurst < 0 {
		add("kubeQPS", "kubeQPS and kubeBurst must not be negative")
	}
	names := map[string]bool{}
	for i, r := range c.Receivers {
		p := fmt.Sprintf("receivers[%d]", i)
		if r.Name == "" {
			add(p+".name", "every receiver needs a name")
		}
		if names[r.Name] {
			add(p+".name", "receiver %q is defined twice", r.Name)
		}
		names[r.Name] = true
		if r.OpenSearch == nil {
			add(p, "receiver %q has no opensearch: block (the only receiver this exporter supports)", r.Name)
			continue
		}
		ps = append(ps, r.OpenSearch.validate(p+".opensearch")...)
	}
	if len(c.Receivers) == 0 {
		add("receivers", "no receivers: events would go nowhere")
	}
	c.Route.walk("route", func(path string, rule Rule) {
		if rule.Receiver != "" && !names[rule.Receiver] {
			add(path+".receiver", "receiver %q is not defined in receivers", rule.Receiver)
		}
		for field, pattern := range map[string]string{"message": rule.Message, "apiVersion": rule.APIVersion, "kind": rule.Kind,
			"namespace": rule.Namespace, "reason": rule.Reason, "type": rule.Type, "component": rule.Component, "host": rule.Host} {
			if _, err := regexp.Compile(pattern); err != nil {
				add(path+"."+field, "not a regular expression: %v", err)
			}
		}
	})
	return ps
}

func (o *OpenSearch) validate(p string) Problems {
	var ps Problems
	add := func(path, format string, args ...any) {
		ps = append(ps, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	if len(o.Hosts) == 0 {
		add(p+".hosts", "at least one host is needed, e.g. https://search-domain.eu-west-1.es.amazonaws.com:443")
	}
	for i, h := range o.Hosts {
		// The message masks credentials: lint prints it, with a host
		// the workshop page passes with --set.
		if err := osclient.CheckURL(h); err != nil {
			add(fmt.Sprintf("%s.hosts[%d]", p, i), "%v", err)
		}
	}
	if o.Index == "" && o.IndexFormat == "" {
		add(p+".index", "set index (or indexFormat)")
	}
	if o.IndexFormat != "" {
		if _, err := IndexName(o.IndexFormat, time.Now()); err != nil {
			add(p+".indexFormat", "%v", err)
		}
	}
	if o.Password != "" && o.PasswordFile != "" {
		add(p+".passwordFile", "set password or passwordFile, not both")
	}
	if (o.TLS.CertFile == "") != (o.TLS.KeyFile == "") {
		add(p+".tls", "certFile and keyFile go together")
	}
	if o.AWS != nil && o.AWS.Service != "" && o.AWS.Service != "es" && o.AWS.Service != "aoss" {
		add(p+".aws.service", "%q: want es (OpenSearch Service) or aoss (Serverless)", o.AWS.Service)
	}
	if len(o.Layout) > 0 {
		add(p+".layout", "custom layouts are not supported: documents are the event itself, as the dashboard expects")
	}
	if o.Bulk.MaxDocs < 1 || o.Bulk.MaxDocs > 10000 {
		add(p+".bulk.maxDocs", "%d: want 1 to 10000", o.Bulk.MaxDocs)
	}
	if o.Bulk.FlushInterval < time.Millisecond || o.Bulk.FlushInterval > time.Minute {
		add(p+".bulk.flushInterval", "%s: want 1ms to 1m", o.Bulk.FlushInterval)
	}
	if o.Bulk.MinInterval < time.Millisecond || o.Bulk.MinInterval > o.Bulk.FlushInterval {
		add(p+".bulk.minInterval", "%s: want 1ms to flushInterval (%s)", o.Bulk.MinInterval, o.Bulk.FlushInterval)
	}
	if o.Queue.MaxPending < 1 {
		add(p+".queue.maxPending", "%d: must be positive", o.Queue.MaxPending)
	}
	return ps
}

// walk visits every rule of the routing tree with its path.
func (r Route) walk(path string, fn func(string, Rule)) {
	for i, rule := range r.Drop {
		fn(fmt.Sprintf("%s.drop[%d]", path, i), rule)
	}
	for i, rule := range r.Match {
		fn(fmt.Sprintf("%s.match[%d]", path, i), rule)
	}
	for i, sub := range r.Routes {
		sub.walk(fmt.Sprintf("%s.routes[%d]", path, i), fn)
	}
}

// ReceiverNames returns the receivers some route sends to.
func (r Route) ReceiverNames() map[string]bool {
	used := map[string]bool{}
	r.walk("route", func(_ string, rule Rule) {
		if rule.Receiver != "" {
			used[rule.Receiver] = true
		}
	})
	return used
}

var layoutPart = regexp.MustCompile(`\{([^{}]*)\}`)

// IndexName renders an indexFormat: each {...} part is a Go time layout
// applied to t, as upstream ("kube-events-{2006-01-02}").
func IndexName(format string, t time.Time) (string, error) {
	if strings.Count(format, "{") != strings.Count(format, "}") {
		return "", fmt.Errorf("%q: unbalanced braces", format)
	}
	name := layoutPart.ReplaceAllStringFunc(format, func(part string) string {
		return t.UTC().Format(part[1 : len(part)-1])
	})
	if name != strings.ToLower(name) || strings.ContainsAny(name, ` "*\<|,>/?#:`) {
		return "", fmt.Errorf("%q renders to %q, not a valid index name (lower case, no spaces or \\/*?\"<>|,#:)", format, name)
	}
	return name, nil
}

// ResolvePassword returns the password from the config or its file.
func (o *OpenSearch) ResolvePassword() (string, error) {
	if o.PasswordFile == "" {
		return o.Password, nil
	}
	data, err := os.ReadFile(o.PasswordFile)
	if err != nil {
		return "", fmt.Errorf("opensearch passwordFile: %w", err)
	}
	return strings.TrimRight(string(data), "\r\n"), nil
}
