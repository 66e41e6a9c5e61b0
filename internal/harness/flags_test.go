package harness

import (
	"log/slog"
	"testing"
)

func TestBadFlagValues(t *testing.T) {
	for _, f := range []Flags{
		{Cluster: "minikube", OpenSearch: "auto"},
		{Cluster: "local", OpenSearch: "elastic"},
		{Cluster: "local", OpenSearch: "url"},
		{Cluster: "local", OpenSearch: "auto", OSPasswordFile: "/nonexistent/password"},
	} {
		if _, err := f.Options(slog.New(slog.DiscardHandler)); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
}
