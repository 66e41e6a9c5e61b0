package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"http://admin:s3cret@[::1":                  "http://admin:xxxxx@[::1",
		"http://admin:s3cret@ho st":                 "http://admin:xxxxx@ho st",
		"admin:s3cret@host":                         "admin:xxxxx@host",
		"http://admin:s3cret@h/%zz":                 "http://admin:xxxxx@h/%zz",
		"http://admin:pa/ss@w@rd@host:9200/x":       "http://admin:xxxxx@host:9200/x",
		"https://tok3n@host":                        "https://xxxxx@host",
		"http://h/?password=s3cret&user=admin":      "http://h/?password=xxxxx&user=xxxxx",
		"http://h/?s3cret":                          "http://h/?xxxxx",
		"http://h/#access_token=s3cret":             "http://h/#xxxxx",
		"http://u:s3cret@h/?password=s3cret#s3cret": "http://u:xxxxx@h/?password=xxxxx#xxxxx",
		"https://search.example:443":                "https://search.example:443",
		"":                                          "",
	} {
		got := URL(in)
		if got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
		if strings.Contains(got, "s3cret") || strings.Contains(got, "tok3n") {
			t.Errorf("URL(%q) = %q keeps a secret", in, got)
		}
	}
}

func TestYAML(t *testing.T) {
	msg := "yaml: unmarshal errors:\n  line 3: cannot unmarshal !!str `hunter2...` into config.TLS"
	if got := YAML(msg); strings.Contains(got, "hunter") || !strings.Contains(got, "line 3: cannot unmarshal !!str into config.TLS") {
		t.Errorf("YAML: %q", got)
	}
}
