package eventindex

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/opensearch-project/opensearch-go/v4"
	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
)

// An OpenSearch that does not know merge_on_flush (before 2.x, or a
// service that forbids the setting) refuses the whole template: it gets
// the template without it, and any other refusal is still an error.
func TestApplyTemplateWithoutASettingTheServerRefuses(t *testing.T) {
	for _, tc := range []struct {
		name      string
		refusal   string // the 400's reason for a body with merge_on_flush
		wantErr   string
		wantPuts  int
		wantFresh bool // the template that landed has merge_on_flush
	}{
		{name: "knows it", wantPuts: 1, wantFresh: true},
		{name: "unknown setting", refusal: "unknown setting [index.merge_on_flush.enabled] please check that any required plugins are installed", wantPuts: 2},
		{name: "other refusal", refusal: "unknown setting [index.number_of_shards]", wantErr: "number_of_shards", wantPuts: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var bodies []string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				b, _ := io.ReadAll(r.Body)
				bodies = append(bodies, string(b))
				w.Header().Set("Content-Type", "application/json")
				// A refusal about merge_on_flush holds only for a body
				// that has it; any other holds for every body.
				about := strings.Contains(tc.refusal, "merge_on_flush")
				if tc.refusal != "" && (!about || strings.Contains(string(b), "merge_on_flush")) {
					w.WriteHeader(http.StatusBadRequest)
					_, _ = io.WriteString(w, `{"error":{"type":"illegal_argument_exception","reason":"`+tc.refusal+`"},"status":400}`)
					return
				}
				_, _ = io.WriteString(w, `{"acknowledged":true}`)
			}))
			defer srv.Close()
			c, err := opensearchapi.NewClient(opensearchapi.Config{Client: opensearch.Config{Addresses: []string{srv.URL}, DisableRetry: true}})
			if err != nil {
				t.Fatal(err)
			}
			err = ApplyTemplate(context.Background(), c)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Fatalf("ApplyTemplate: %v", err)
			case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
				t.Fatalf("ApplyTemplate: %v, want an error naming %s", err, tc.wantErr)
			}
			if len(bodies) != tc.wantPuts {
				t.Fatalf("%d template puts, want %d", len(bodies), tc.wantPuts)
			}
			last := bodies[len(bodies)-1]
			if tc.wantErr == "" && strings.Contains(last, "merge_on_flush") != tc.wantFresh {
				t.Errorf("template put %s: merge_on_flush present %t, want %t", last, !tc.wantFresh, tc.wantFresh)
			}
			if !strings.Contains(last, `"number_of_replicas":0`) {
				t.Errorf("template put %s lost its other settings", last)
			}
		})
	}
}
