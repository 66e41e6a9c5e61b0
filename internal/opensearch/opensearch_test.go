package opensearch

import (
	"strings"
	"testing"
)

func TestNewRejectsBadInput(t *testing.T) {
	if _, err := New("elasticsearch"); err == nil || !strings.Contains(err.Error(), `"elasticsearch"`) || !strings.Contains(err.Error(), "url") {
		t.Fatalf("unknown provider error = %v", err)
	}
	if _, err := New(URL); err == nil || !strings.Contains(err.Error(), "--opensearch-url") {
		t.Fatalf("url without an endpoint error = %v", err)
	}
	for _, name := range []string{Local, Container} {
		if _, err := New(name); err != nil {
			t.Fatalf("New(%s) = %v", name, err)
		}
	}
}

func TestEndpointNeverPrintsThePassword(t *testing.T) {
	e := Endpoint{URL: "https://search.example:443", Username: "admin", Password: "hunter2"}
	if s := e.String(); strings.Contains(s, "hunter2") || !strings.Contains(s, "admin") {
		t.Fatalf("String() = %q", s)
	}
	if v := e.LogValue().String(); strings.Contains(v, "hunter2") {
		t.Fatalf("LogValue() = %q", v)
	}
}
