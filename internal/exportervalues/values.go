// Package exportervalues is an events exporter configuration as workshop
// content ships it: a Helm values file whose config: block is the
// exporter's config (or a bare config), with the install-time --set
// overrides of the workshop page applied with Helm's syntax and
// precedence. The YAML tree is kept, so every problem still points at its
// line in the file, and the whole configuration is what runs: only the
// OpenSearch endpoint is replaced by the environment's.
package exportervalues

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"helm.sh/helm/v4/pkg/strvals"

	"github.com/eventcheck/eventcheck/exporter/config"
	"github.com/eventcheck/eventcheck/exporter/redact"
	"github.com/eventcheck/eventcheck/internal/inputfile"
	"github.com/eventcheck/eventcheck/internal/opensearch"
	"github.com/eventcheck/eventcheck/internal/yamlpos"
)

// Values is a loaded configuration with its overrides applied.
type Values struct {
	// File is where it came from ("" for a built-in one).
	File string
	// Helm is true for a values file (the config is its config: block).
	Helm bool
	doc  *yaml.Node
}

// Load reads a values or config file (at most inputfile.Values bytes) and
// applies --set overrides.
func Load(file string, set []string) (*Values, error) {
	data, err := inputfile.Read("exporter config", file, inputfile.Values)
	if err != nil {
		return nil, err
	}
	return Parse(file, data, set)
}

// Parse reads a values or config document and applies --set overrides
// (Helm's strvals: later ones win, and they win over the file). file
// names it in errors. No message quotes a value: an override is most
// often a password or a host with credentials.
func Parse(file string, data []byte, set []string) (*Values, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("exporter config %s: %s", file, redact.YAML(err.Error()))
	}
	if len(doc.Content) == 0 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("exporter config %s: want a mapping of settings (an exporter config, or Helm values with a config: block)", file)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("exporter config %s: a second YAML document follows the first (after ---): it would be ignored; keep one", file)
	}
	helm := yamlpos.Child(doc.Content[0], "config") != nil
	v := &Values{File: file, doc: &doc, Helm: helm}
	for i, s := range set {
		if err := checkSet(s); err != nil {
			return nil, fmt.Errorf("--set #%d (%s): %w", i+1, shownKeys(s), err)
		}
		overrides := map[string]any{}
		if err := strvals.ParseInto(s, overrides); err != nil {
			// strvals quotes parts of the value, which may be a password.
			return nil, fmt.Errorf("--set %s: not key=value pairs as helm --set takes them (separate pairs with commas; write a comma inside a value as \\,)", shownKeys(s))
		}
		if _, ok := overrides["config"]; ok && !helm {
			// Merged in, config: would become the whole exporter config,
			// and the file's own settings would be dropped.
			return nil, fmt.Errorf("--set %s: exporter config %s is a bare exporter config, not Helm values: it has no config: block to set; drop the config. prefix (as in receivers[0].opensearch.index=NAME), or give the Helm values file", shownKeys(s), file)
		}
		merge(doc.Content[0], overrides)
		v.Helm = v.Helm || yamlpos.Child(doc.Content[0], "config") != nil
	}
	return v, nil
}

// shownKeys is a --set argument with its values masked: "a.b=…,c=…".
func shownKeys(s string) string {
	pairs := setPairs(s)
	if len(pairs) == 0 {
		return "(empty)"
	}
	keys := make([]string, len(pairs))
	for i, p := range pairs {
		keys[i] = p.key + "=…"
		if !p.hasValue {
			keys[i] = "…" // no =: the whole argument may be a value
		}
	}
	return strings.Join(keys, ",")
}

// setPair is one key=value of a --set argument.
type setPair struct {
	key      string
	hasValue bool
}

// setPairs splits a --set argument as strvals does: pairs separated by
// commas, a backslash escaping the next character, a value in braces a
// list (its commas do not separate pairs).
func setPairs(s string) []setPair {
	var out []setPair
	i := 0
	for i < len(s) {
		start := i
		for i < len(s) && s[i] != '=' && s[i] != ',' {
			if s[i] == '\\' {
				i++
			}
			i++
		}
		p := setPair{key: s[start:min(i, len(s))]}
		if i < len(s) && s[i] == '=' {
			p.hasValue = true
			i++
			if i < len(s) && s[i] == '{' {
				for i < len(s) && s[i] != '}' {
					if s[i] == '\\' {
						i++
					}
					i++
				}
			}
			for i < len(s) && s[i] != ',' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
		}
		out = append(out, p)
		i++ // the comma
	}
	return out
}

// setKey is a key as helm --set takes it: names separated by dots, each
// optionally indexed ([0]), a backslash escaping a dot.
var setKey = regexp.MustCompile(`^(?:[^.\[\]=,\\]|\\.)+(?:\[[0-9]+\])*(?:\.(?:[^.\[\]=,\\]|\\.)+(?:\[[0-9]+\])*)*$`)

// checkSet refuses what strvals accepts and silently applies nothing for:
// an empty key (=v), an index left open (receivers[0.opensearch.password=...).
// The message names the key, never the value.
func checkSet(s string) error {
	for _, p := range setPairs(s) {
		switch {
		case !p.hasValue:
			continue // strvals says it has no value
		case p.key == "":
			return errors.New("a pair has an empty key: write it as key=value, such as config.receivers[0].opensearch.index=NAME")
		case strings.Count(p.key, "[") != strings.Count(p.key, "]"):
			return fmt.Errorf("key %q opens an index with [ and does not close it (receivers[0].name)", p.key)
		case !setKey.MatchString(p.key):
			return fmt.Errorf("key %q is malformed: names separated by dots, each optionally indexed as in receivers[0].opensearch.index", p.key)
		}
	}
	return nil
}

// Config decodes the exporter config strictly, as our exporter reads it:
// unknown keys and bad values are config.Problems with the file's lines.
// ${VAR} references resolve with lookupEnv.
func (v *Values) Config(lookupEnv func(string) (string, bool)) (*config.Config, error) {
	cfg, err := config.ParseDocument(clone(v.doc), lookupEnv)
	if err != nil {
		return nil, fmt.Errorf("exporter config %s: %w", v.name(), err)
	}
	return cfg, nil
}

func (v *Values) name() string {
	if v.File == "" {
		return "(built in)"
	}
	return v.File
}

// configNode is the exporter config mapping of doc.
func configNode(doc *yaml.Node) *yaml.Node {
	root := doc.Content[0]
	if c := yamlpos.Child(root, "config"); c != nil {
		return c
	}
	return root
}

// Receiver is what the checks need to know of an OpenSearch receiver,
// read leniently (a third-party exporter may have keys ours does not).
type Receiver struct {
	Name        string
	Index       string
	IndexFormat string
	// UseEventID is nil when the file does not say.
	UseEventID *bool
	DeDot      bool
	Routed     bool
}

// Pattern is the index pattern of what the receiver writes: indexFormat's
// {...} date parts become wildcards.
func (r Receiver) Pattern() string {
	if r.IndexFormat != "" {
		return datePart.ReplaceAllString(r.IndexFormat, "*")
	}
	return r.Index
}

var datePart = regexp.MustCompile(`\{[^}]*\}`)

// Receivers lists the OpenSearch receivers, each with whether a route
// sends events to it.
func (v *Values) Receivers() ([]Receiver, error) {
	var loose struct {
		Route     config.Route `yaml:"route"`
		Receivers []struct {
			Name       string `yaml:"name"`
			OpenSearch *struct {
				Index       string `yaml:"index"`
				IndexFormat string `yaml:"indexFormat"`
				UseEventID  *bool  `yaml:"useEventID"`
				DeDot       bool   `yaml:"deDot"`
			} `yaml:"opensearch"`
		} `yaml:"receivers"`
	}
	if err := configNode(v.doc).Decode(&loose); err != nil {
		return nil, fmt.Errorf("exporter config %s: %w", v.name(), err)
	}
	routed := loose.Route.ReceiverNames()
	var out []Receiver
	for _, r := range loose.Receivers {
		if o := r.OpenSearch; o != nil {
			out = append(out, Receiver{Name: r.Name, Index: o.Index, IndexFormat: o.IndexFormat, UseEventID: o.UseEventID, DeDot: o.DeDot, Routed: routed[r.Name]})
		}
	}
	return out, nil
}

// Index is the index pattern the checks read: what the routed OpenSearch
// receivers write, comma-separated when there are several.
func (v *Values) Index() (string, error) {
	rs, err := v.Receivers()
	if err != nil {
		return "", err
	}
	var patterns []string
	for _, r := range rs {
		if r.Routed && r.Pattern() != "" {
			patterns = append(patterns, r.Pattern())
		}
	}
	if len(patterns) == 0 {
		return "", fmt.Errorf("exporter config %s: no route sends events to an OpenSearch receiver with an index", v.name())
	}
	return strings.Join(patterns, ","), nil
}

// KeyedByUID is true when every routed receiver keys documents by event
// uid; a receiver that does not say gets def (ours: true; upstream: false).
func (v *Values) KeyedByUID(def bool) bool {
	rs, err := v.Receivers()
	if err != nil {
		return false
	}
	keyed := false
	for _, r := range rs {
		if !r.Routed {
			continue
		}
		use := def
		if r.UseEventID != nil {
			use = *r.UseEventID
		}
		if !use {
			return false
		}
		keyed = true
	}
	return keyed
}

// Endpoint is how the exporter reaches OpenSearch; PasswordFile, when set,
// is written instead of the password (for exporters that read one).
type Endpoint struct {
	opensearch.Endpoint
	PasswordFile string
}

// ForEndpoint returns a copy whose OpenSearch receivers all write to ep:
// hosts, credentials, TLS and SigV4 replaced, everything else (index,
// route, deDot, maxEventAgeSeconds, ...) kept as the content has it.
func (v *Values) ForEndpoint(ep Endpoint) (*Values, error) {
	out := &Values{File: v.File, Helm: v.Helm, doc: clone(v.doc)}
	receivers := yamlpos.Child(configNode(out.doc), "receivers")
	if receivers == nil || receivers.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("exporter config %s: no receivers: list", v.name())
	}
	n := 0
	for _, r := range receivers.Content {
		recv := yamlpos.Child(r, "opensearch")
		if recv == nil || recv.Kind != yaml.MappingNode {
			continue
		}
		n++
		set := map[string]any{
			"hosts":    []any{ep.URL},
			"username": ep.Username,
			"tls": map[string]any{"caFile": ep.TLS.CAFile, "certFile": ep.TLS.CertFile, "keyFile": ep.TLS.KeyFile,
				"serverName": ep.TLS.ServerName, "insecureSkipVerify": ep.TLS.InsecureSkipVerify},
		}
		for _, k := range []string{"password", "passwordFile", "aws", "tls"} {
			remove(recv, k)
		}
		switch {
		case ep.Password != "" && ep.PasswordFile != "":
			set["passwordFile"] = ep.PasswordFile
		case ep.Password != "":
			set["password"] = ep.Password
		}
		if ep.Username == "" {
			remove(recv, "username")
			delete(set, "username")
		}
		if ep.AWS != nil {
			set["aws"] = map[string]any{"region": ep.AWS.Region, "service": ep.AWS.Service}
		}
		merge(recv, set)
	}
	if n == 0 {
		return nil, fmt.Errorf("exporter config %s: no opensearch receiver to point at the environment's OpenSearch", v.name())
	}
	return out, nil
}

// Position is where a field of the exporter config (receivers[1].name)
// is in the file: in a values file, under config:.
func (v *Values) Position(path string) (line, col int) {
	return yamlpos.Find(configNode(v.doc), path)
}

// ExporterConfig renders the exporter's config (the config: block of a
// values file) as the exporter reads it.
func (v *Values) ExporterConfig() ([]byte, error) {
	return encode(configNode(v.doc))
}

// HelmValues renders the whole values document (a bare config becomes the
// config: block of one).
func (v *Values) HelmValues() ([]byte, error) {
	if v.Helm {
		return encode(v.doc.Content[0])
	}
	return encode(&yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{
		{Kind: yaml.ScalarNode, Tag: "!!str", Value: "config"}, clone(v.doc).Content[0]}})
}

func encode(n *yaml.Node) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(n); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// merge sets the values of overrides into a mapping node: maps merge key
// by key, lists element by element (nil elements are left alone, as
// strvals leaves them for indices it skipped), anything else replaces.
// A replaced scalar keeps the line of the one it replaces.
func merge(m *yaml.Node, overrides map[string]any) {
	for k, val := range overrides {
		cur := yamlpos.Child(m, k)
		if cur == nil {
			// A new key is placed at the mapping it is added to.
			cur = &yaml.Node{Line: m.Line, Column: m.Column}
			m.Content = append(m.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: k, Line: m.Line, Column: m.Column}, cur)
			m.Kind = yaml.MappingNode
		}
		set(cur, val)
	}
}

func set(n *yaml.Node, val any) {
	line, col := n.Line, n.Column
	switch x := val.(type) {
	case map[string]any:
		if n.Kind != yaml.MappingNode {
			*n = yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: line, Column: col}
		}
		merge(n, x)
	case []any:
		if n.Kind != yaml.SequenceNode {
			*n = yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Line: line, Column: col}
		}
		for i, el := range x {
			for len(n.Content) <= i {
				n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null", Line: line, Column: col})
			}
			if el != nil {
				set(n.Content[i], el)
			}
		}
	default:
		var enc yaml.Node
		if err := enc.Encode(x); err != nil {
			enc = yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: fmt.Sprint(x)}
		}
		*n = enc
		if line > 0 {
			n.Line, n.Column = line, col
		}
	}
}

func remove(m *yaml.Node, key string) {
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			m.Content = append(m.Content[:i], m.Content[i+2:]...)
			return
		}
	}
}

// clone copies a node tree (aliases keep pointing into the copy's
// original anchors, which are copied too only when reached directly).
func clone(n *yaml.Node) *yaml.Node {
	if n == nil {
		return nil
	}
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, k := range n.Content {
		c.Content[i] = clone(k)
	}
	return &c
}

// WithoutUnknownKeys is v with every key the exporter does not know
// removed, and those keys' problems: an upstream exporter ignores such a
// key, and a run that plays its part must too, while saying so.
func (v *Values) WithoutUnknownKeys() (*Values, []config.Problem) {
	_, err := config.ParseDocument(clone(v.doc), func(string) (string, bool) { return "", false })
	var ps config.Problems
	if !errors.As(err, &ps) {
		return v, nil
	}
	out := &Values{File: v.File, Helm: v.Helm, doc: clone(v.doc)}
	var unknown []config.Problem
	for _, p := range ps {
		if strings.HasPrefix(p.Message, "unknown field") && removePath(out.doc.Content[0], p.Path) {
			unknown = append(unknown, p)
		}
	}
	return out, unknown
}

// removePath deletes the key a path such as config.receivers[0].x names.
func removePath(n *yaml.Node, path string) bool {
	parent, key, found := lookup(n, path)
	if found == nil || parent == nil { // an element of a list is no key to remove
		return false
	}
	remove(parent, key)
	return true
}

// lookup walks a path such as config.receivers[0].opensearch.username
// from the mapping n: the node found (nil when there is none), and the
// mapping and key that hold it when its last step is a key.
func lookup(n *yaml.Node, path string) (parent *yaml.Node, key string, found *yaml.Node) {
	for _, part := range strings.Split(path, ".") {
		k, index, indexed := strings.Cut(part, "[")
		parent, key = n, k
		if n = yamlpos.Child(n, k); n == nil {
			return nil, "", nil
		}
		if indexed {
			j, err := strconv.Atoi(strings.TrimSuffix(index, "]"))
			if err != nil || n.Kind != yaml.SequenceNode || j >= len(n.Content) {
				return nil, "", nil
			}
			parent, key, n = nil, "", n.Content[j]
		}
	}
	return parent, key, n
}

// Has says whether the values document holds a key at path (such as
// config.receivers[0].opensearch.username), before any --set.
func (v *Values) Has(path string) bool {
	_, _, found := lookup(v.doc.Content[0], path)
	return found != nil
}
