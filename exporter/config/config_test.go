package config

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func noEnv(string) (string, bool) { return "", false }

func env(vars map[string]string) func(string) (string, bool) {
	return func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
}

func TestOurConfigDecodes(t *testing.T) {
	cfg, err := Load(filepath.Join("..", "..", "fixtures", "exporter", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	os := cfg.Receivers[0].OpenSearch
	if cfg.ClusterName != "eventcheck" || cfg.MaxEventAgeSeconds != 3600 || os.Index != "eks-kubernetes-events" ||
		!*os.UseEventID || !os.DeDot || os.Bulk.FlushInterval != 250*time.Millisecond || os.Queue.MaxPending != 100000 {
		t.Fatalf("decoded %+v / %+v", cfg, os)
	}
	if cfg.Route.Drop[0].Namespace != "^kube-node-lease$" || cfg.Route.Routes[0].Match[0].Receiver != "opensearch" {
		t.Fatalf("route %+v", cfg.Route)
	}
}

// The workshop's values file says maxEventsAgeSeconds: upstream ignores it
// silently; we name it and the key that was meant.
func TestWorkshopValuesTypoIsNamed(t *testing.T) {
	t.Setenv("OPENSEARCH_PASSWORD", "from-the-environment")
	_, err := Load(filepath.Join("..", "..", "fixtures", "exporter", "workshop-values.yaml"))
	if err == nil {
		t.Fatal("typo accepted")
	}
	want := "config.maxEventsAgeSeconds: unknown field (did you mean maxEventAgeSeconds?)"
	if !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "line 9") {
		t.Fatalf("error %q should contain %q at line 9", err, want)
	}
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Line != 9 || ps[0].Column != 3 {
		t.Fatalf("problems = %#v", ps)
	}
}

func TestHelmValuesConfigBlockIsRead(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "exporter", "workshop-values.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.Replace(string(data), "  maxEventsAgeSeconds:", "  maxEventAgeSeconds:", 1)
	cfg, err := Parse([]byte(fixed), env(map[string]string{"OPENSEARCH_PASSWORD": "pa$$w0rd"}))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MaxEventAgeSeconds != 60 || cfg.Receivers[0].OpenSearch.Password != "pa$$w0rd" {
		t.Fatalf("decoded %+v", cfg)
	}
}

func TestUnknownKeysEverywhereAreReportedWithPaths(t *testing.T) {
	doc := `
logLevel: info
recievers:
  - name: x
route:
  routes:
    - match:
        - reciever: x
receivers:
  - name: x
    opensearch:
      hosts: ["http://localhost:9200"]
      index: i
      tls:
        insecureSkipVerfy: true
`
	_, err := Parse([]byte(doc), noEnv)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v", err)
	}
	got := map[string]string{}
	for _, p := range ps {
		got[p.Path] = p.Message
	}
	for path, suggestion := range map[string]string{
		"recievers":                                     "receivers",
		"route.routes[0].match[0].reciever":             "receiver",
		"receivers[0].opensearch.tls.insecureSkipVerfy": "insecureSkipVerify",
	} {
		if !strings.Contains(got[path], "did you mean "+suggestion+"?") {
			t.Errorf("%s: got %q, want a suggestion of %s (all: %v)", path, got[path], suggestion, got)
		}
	}
}

func TestBadYAMLNamesTheLine(t *testing.T) {
	_, err := Parse([]byte("logLevel: info\nreceivers:\n  - name: x\n   bad indent: [\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "line") {
		t.Fatalf("error %v should carry a line number", err)
	}
	_, err = Parse([]byte("logLevel: info\nmaxEventAgeSeconds: soon\nreceivers: []\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Fatalf("type error %v should name line 2", err)
	}
}

func TestOnlyBracedVariablesExpand(t *testing.T) {
	doc := `
receivers:
  - name: x
    opensearch:
      hosts: ["${OS_HOST}"]
      index: i
      username: $USER
      password: "a$b${SUFFIX}$"
`
	cfg, err := Parse([]byte(doc), env(map[string]string{"OS_HOST": "https://os:9200", "SUFFIX": "-z", "USER": "nope"}))
	if err != nil {
		t.Fatal(err)
	}
	o := cfg.Receivers[0].OpenSearch
	if o.Hosts[0] != "https://os:9200" || o.Username != "$USER" || o.Password != "a$b-z$" {
		t.Fatalf("expanded to %+v", o)
	}
	_, err = Parse([]byte(doc), env(map[string]string{"OS_HOST": "https://os:9200"}))
	if err == nil || !strings.Contains(err.Error(), "SUFFIX is not set") || !strings.Contains(err.Error(), "receivers[0].opensearch.password") {
		t.Fatalf("missing variable error = %v", err)
	}
	if strings.Contains(err.Error(), "a$b") {
		t.Fatal("error shows the password")
	}
}

func TestValidationProblemsPointAtTheirLine(t *testing.T) {
	doc := `logFormat: yaml
route:
  routes:
    - match:
        - receiver: elsewhere
receivers:
  - name: x
    opensearch:
      hosts: ["localhost:9200"]
      indexFormat: "Events-{2006-01-02}"
      aws:
        service: s3
`
	_, err := Parse([]byte(doc), noEnv)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v", err)
	}
	want := map[string]int{
		"logFormat":                           1,
		"route.routes[0].match[0].receiver":   5,
		"receivers[0].opensearch.hosts[0]":    9,
		"receivers[0].opensearch.indexFormat": 10,
		"receivers[0].opensearch.aws.service": 12,
	}
	for _, p := range ps {
		if line, ok := want[p.Path]; ok {
			if p.Line != line {
				t.Errorf("%s at line %d, want %d", p.Path, p.Line, line)
			}
			delete(want, p.Path)
		}
	}
	if len(want) > 0 {
		t.Errorf("not reported: %v (got %v)", want, ps)
	}
}

func TestValuesFileWithoutConfigBlock(t *testing.T) {
	_, err := Parse([]byte("image:\n  repository: x\nreplicaCount: 1\n"), noEnv)
	if err == nil || !strings.Contains(err.Error(), "without a config: block") {
		t.Fatalf("error = %v", err)
	}
}

func TestIndexName(t *testing.T) {
	at := time.Date(2026, 11, 27, 23, 59, 0, 0, time.UTC)
	for format, want := range map[string]string{
		"eks-kubernetes-events":    "eks-kubernetes-events",
		"kube-events-{2006-01-02}": "kube-events-2026-11-27",
		"events-{2006}.{01}":       "events-2026.11",
	} {
		got, err := IndexName(format, at)
		if err != nil || got != want {
			t.Errorf("IndexName(%q) = %q, %v; want %q", format, got, err, want)
		}
	}
	for _, bad := range []string{"events-{2006", "Events", "a b"} {
		if _, err := IndexName(bad, at); err == nil {
			t.Errorf("IndexName(%q) accepted", bad)
		}
	}
}

func TestPasswordFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "password")
	if err := os.WriteFile(path, []byte("s3cret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := &OpenSearch{PasswordFile: path}
	if pw, err := o.ResolvePassword(); err != nil || pw != "s3cret" {
		t.Fatalf("password %q, %v", pw, err)
	}
	o.PasswordFile = filepath.Join(t.TempDir(), "missing")
	if _, err := o.ResolvePassword(); err == nil || !strings.Contains(err.Error(), "passwordFile") {
		t.Fatalf("error %v", err)
	}
}

// Nested aliases must not expand exponentially.
func TestAliasBombIsCheap(t *testing.T) {
	doc := "a: &a [x,x,x,x,x,x,x,x,x,x]\n"
	prev := "a"
	for _, name := range []string{"b", "c", "d", "e", "f", "g", "h", "i"} {
		doc += name + ": &" + name + " [" + strings.Repeat("*"+prev+",", 9) + "*" + prev + "]\n"
		prev = name
	}
	start := time.Now()
	if _, err := Parse([]byte(doc), noEnv); err == nil {
		t.Fatal("accepted")
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("took %s", d)
	}
}

func FuzzParse(f *testing.F) {
	for _, name := range []string{"config.yaml", "workshop-values.yaml"} {
		data, err := os.ReadFile(filepath.Join("..", "..", "fixtures", "exporter", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add([]byte("config: 3"))
	f.Add([]byte("receivers: [{name: a, opensearch: {hosts: ['${X}'], index: i}}]"))
	f.Fuzz(func(t *testing.T, data []byte) {
		done := make(chan struct{})
		go func() {
			select {
			case <-done:
			case <-time.After(2 * time.Second):
				panic(fmt.Sprintf("HANG on %q", data))
			}
		}()
		defer close(done)
		cfg, err := Parse(data, env(map[string]string{"X": "http://x:1"}))
		if err == nil && len(cfg.Receivers) == 0 {
			t.Fatal("accepted a config without receivers")
		}
	})
}

// A key far from every known one gets no suggestion: colour is no typo of
// layout.
func TestSuggestionsOnlyWhenClose(t *testing.T) {
	doc := "receivers:\n  - name: x\n    opensearch:\n      hosts: [\"http://localhost:9200\"]\n      index: i\n      colour: red\n      idnex: j\n"
	_, err := Parse([]byte(doc), noEnv)
	var ps Problems
	if !errors.As(err, &ps) {
		t.Fatalf("error %v", err)
	}
	got := map[string]string{}
	for _, p := range ps {
		got[p.Path] = p.Message
	}
	if m := got["receivers[0].opensearch.colour"]; m != "unknown field" {
		t.Errorf("colour: %q, want no suggestion", m)
	}
	if m := got["receivers[0].opensearch.idnex"]; !strings.Contains(m, "did you mean index?") {
		t.Errorf("idnex: %q, want index suggested", m)
	}
}

// A type error never quotes the value: it is often a secret set in the
// wrong place (tls=<password>).
func TestTypeErrorsDoNotQuoteTheValue(t *testing.T) {
	for _, doc := range []string{
		"receivers:\n  - name: x\n    opensearch: {hosts: [\"http://h:9200\"], index: i, tls: s3cretvalue}\n",
		"receivers:\n  - name: x\n    opensearch: {hosts: [\"http://h:9200\"], index: i, bulk: {maxDocs: s3cretvalue}}\n",
		"receivers:\n  - name: x\n    opensearch: {hosts: [\"http://h:9200\"], index: i, aws: s3cretvalue}\n",
	} {
		_, err := Parse([]byte(doc), noEnv)
		if err == nil || strings.Contains(err.Error(), "s3cret") || !strings.Contains(err.Error(), "3") {
			t.Errorf("%q: error %v: want line 3, no value", doc, err)
		}
	}
}

// bulk.minInterval defaults to DefaultMinInterval and may not outlast
// flushInterval, the bound every document's wait keeps.
func TestBulkMinInterval(t *testing.T) {
	recv := func(bulk string) string {
		return "receivers:\n  - name: x\n    opensearch: {hosts: [\"http://h:9200\"], index: i" + bulk + "}\n"
	}
	cfg, err := Parse([]byte(recv("")), noEnv)
	if err != nil {
		t.Fatal(err)
	}
	if got := cfg.Receivers[0].OpenSearch.Bulk.MinInterval; got != DefaultMinInterval {
		t.Errorf("default minInterval %s, want %s", got, DefaultMinInterval)
	}
	_, err = Parse([]byte(recv(", bulk: {flushInterval: 100ms, minInterval: 200ms}")), noEnv)
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Path != "receivers[0].opensearch.bulk.minInterval" || !strings.Contains(ps[0].Message, "flushInterval") {
		t.Errorf("minInterval over flushInterval: %v, want one problem at receivers[0].opensearch.bulk.minInterval", err)
	}
}
