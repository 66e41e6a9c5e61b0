package eventindex

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"

	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// client reaches a real local OpenSearch through the url provider (nil
// with -short).
var client *opensearchapi.Client

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	ctx := context.Background()
	server, err := opensearch.New(opensearch.Local)
	if err != nil {
		log.Fatal(err)
	}
	inst, err := server.Start(ctx)
	if err != nil {
		log.Fatal(err)
	}
	viaURL, err := opensearch.New(opensearch.URL, opensearch.WithEndpoint(inst.Endpoint))
	if err != nil {
		log.Fatal(err)
	}
	conn, err := viaURL.Start(ctx)
	if err != nil {
		server.Stop(ctx)
		log.Fatal(err)
	}
	client = conn.Client
	code := m.Run()
	if err := server.Stop(ctx); err != nil {
		log.Print(err)
	}
	os.Exit(code)
}

func needServer(t *testing.T) {
	t.Helper()
	if client == nil {
		t.Skip("needs OpenSearch; skipped with -short")
	}
}

var base = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func event(uid, typ, reason, kind, name, ns, msg string, at time.Time) map[string]any {
	return map[string]any{
		"metadata":       map[string]any{"name": name + ".1", "namespace": ns, "uid": uid, "creationTimestamp": at.Format(time.RFC3339)},
		"type":           typ,
		"reason":         reason,
		"message":        msg,
		"count":          1,
		"firstTimestamp": at.Format(time.RFC3339),
		"lastTimestamp":  at.Format(time.RFC3339),
		"eventTime":      nil,
		"involvedObject": map[string]any{"kind": kind, "name": name, "namespace": ns},
		"source":         map[string]any{"component": "kubelet"},
	}
}

const pullMessage = `Failed to pull image "wrong-image": rpc error: code = NotFound desc = failed to pull and unpack image "docker.io/library/wrong-image:latest": failed to resolve reference "docker.io/library/wrong-image:latest": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed`

// seed writes the workshop's story into a fresh index named for the test.
func seed(t *testing.T, index string) *Searcher {
	t.Helper()
	ctx := context.Background()
	if err := ApplyTemplate(ctx, client); err != nil {
		t.Fatal(err)
	}
	docs := []map[string]any{
		event("a1", "Warning", "FailedMount", "Pod", "scenario-a-5d8f-x", "test", `MountVolume.SetUp failed for volume "secret-volume" : secret "misspelt-secret-name" not found`, base),
		event("b1", "Warning", "Failed", "Pod", "scenario-b-7c9d-y", "test", pullMessage, base.Add(time.Second)),
		event("b2", "Warning", "BackOff", "Pod", "scenario-b-7c9d-y", "test", `Back-off pulling image "wrong-image"`, base.Add(2*time.Second)),
		event("c1", "Warning", "FailedScheduling", "Pod", "scenario-c-6b7f-z", "test", "0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 Preemption is not helpful for scheduling.", base.Add(3*time.Second)),
		event("n1", "Normal", "ScalingReplicaSet", "Deployment", "scenario-a", "test", "Scaled up replica set scenario-a-5d8f to 1", base.Add(-time.Second)),
		event("n2", "Normal", "Scheduled", "Pod", "scenario-a-5d8f-x", "test", "Successfully assigned test/scenario-a-5d8f-x to node-1", base.Add(70*time.Second)),
		event("n3", "Normal", "Started", "Pod", "scenario-a-5d8f-x", "test", "Container started", base.Add(75*time.Second)),
		event("o1", "Warning", "Unhealthy", "Pod", "coredns-1", "kube-system", "Readiness probe failed", base.Add(80*time.Second)),
	}
	var bulk bytes.Buffer
	for _, d := range docs {
		fmt.Fprintf(&bulk, `{"index":{"_index":%q,"_id":%q}}`+"\n", index, d["metadata"].(map[string]any)["uid"])
		line, _ := json.Marshal(d)
		bulk.Write(line)
		bulk.WriteByte('\n')
	}
	resp, err := client.Bulk(ctx, opensearchapi.BulkReq{Body: &bulk, Params: opensearchapi.BulkParams{Refresh: "true"}})
	if err != nil || resp.Errors {
		t.Fatalf("bulk: %v %+v", err, resp)
	}
	t.Cleanup(func() {
		_, _ = client.Indices.Delete(ctx, opensearchapi.IndicesDeleteReq{Indices: []string{index}})
	})
	return &Searcher{Client: client, Index: index}
}

func TestTemplateGivesTheDashboardItsFields(t *testing.T) {
	needServer(t)
	seed(t, Index+"-mapping")
	var got map[string]struct {
		Mappings struct {
			Properties map[string]json.RawMessage `json:"properties"`
		} `json:"mappings"`
	}
	getJSON(t, "/"+Index+"-mapping/_mapping", &got)
	props := got[Index+"-mapping"].Mappings.Properties
	for _, f := range []string{"lastTimestamp", "firstTimestamp", "eventTime"} {
		if !strings.Contains(string(props[f]), `"type":"date"`) {
			t.Errorf("%s mapped as %s, want date", f, props[f])
		}
	}
	for _, f := range []string{"type", "reason", "message"} {
		if !strings.Contains(string(props[f]), `"keyword":{"type":"keyword"`) {
			t.Errorf("%s mapped as %s, want text with a keyword sub-field", f, props[f])
		}
	}
	meta := string(props["metadata"])
	if !strings.Contains(meta, `"namespace":{"type":"text","fields":{"keyword"`) || !strings.Contains(meta, `"creationTimestamp":{"type":"date"`) {
		t.Errorf("metadata mapped as %s", meta)
	}
	var settings map[string]any
	getJSON(t, "/"+Index+"-mapping/_settings", &settings)
	raw, _ := json.Marshal(settings)
	if !strings.Contains(string(raw), `"number_of_replicas":"0"`) {
		t.Errorf("settings %s: want zero replicas", raw)
	}
	if !strings.Contains(string(raw), `"merge_on_flush":{"enabled":"false"}`) {
		t.Errorf("settings %s: want merge-on-flush off (a refresh waits for its merge)", raw)
	}
}

func getJSON(t *testing.T, path string, into any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, path, nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Client.Perform(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(resp.Body).Decode(into); err != nil {
		t.Fatal(err)
	}
}

func TestFindMatchesEachWarningAndReportsNearMisses(t *testing.T) {
	needServer(t)
	s := seed(t, Index+"-find")
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		m    Match
		want []string
	}{
		{"FailedMount by substring", Match{Type: "Warning", Reason: "FailedMount", Kind: "Pod", NamePrefix: "scenario-a", Namespace: "test", Message: `secret "misspelt-secret-name" not found`}, []string{"a1"}},
		{"pull failure longer than keyword's 256 chars", Match{Type: "Warning", Reason: "Failed", NamePrefix: "scenario-b", Message: `failed to pull image "wrong-image"`}, []string{"b1"}},
		{"FailedScheduling by pattern", Match{Reason: "FailedScheduling", MessageRegexp: regexp.MustCompile(`0/\d+ nodes are available: \d+ Insufficient cpu`)}, []string{"c1"}},
		{"all warnings in test, newest first", Match{Type: "Warning", Namespace: "test"}, []string{"c1", "b2", "b1", "a1"}},
		{"time window", Match{Type: "Normal", Since: base, Until: base.Add(time.Hour)}, []string{"n3", "n2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			res, err := s.Find(ctx, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			var ids []string
			for _, d := range res.Matched {
				ids = append(ids, d.Event.Metadata.UID)
			}
			if strings.Join(ids, ",") != strings.Join(tc.want, ",") {
				t.Fatalf("matched %v, want %v", ids, tc.want)
			}
		})
	}

	res, err := s.Find(ctx, Match{Type: "Warning", Reason: "FailedMount", NamePrefix: "scenario-a", Message: `secret "some-other-name" not found`})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Matched) != 0 || len(res.NearMisses) == 0 {
		t.Fatalf("want no match and near misses, got %+v", res)
	}
	best := res.NearMisses[0]
	if best.Doc.Event.Metadata.UID != "a1" || len(best.Failures) != 1 || !strings.Contains(best.Failures[0], "some-other-name") {
		t.Fatalf("nearest miss = %+v; want a1 failing only on the message", best)
	}
}

func TestAggregationsTellTheDashboardStory(t *testing.T) {
	needServer(t)
	s := seed(t, Index+"-aggs")
	ctx := context.Background()

	byType, err := countByType(ctx, s, Query{})
	if err != nil {
		t.Fatal(err)
	}
	if byType["Warning"] != 5 || byType["Normal"] != 3 {
		t.Fatalf("counts by type = %v", byType)
	}
	scenarioA, err := countByType(ctx, s, Match{NamePrefix: "scenario-a"}.Query())
	// The Deployment's ScalingReplicaSet and its pod's Scheduled and Started
	// are Normal; the pod's FailedMount is the one Warning.
	if err != nil || scenarioA["Normal"] != 3 || scenarioA["Warning"] != 1 {
		t.Fatalf("scenario-a counts = %v (%v)", scenarioA, err)
	}

	// The dashboard's Warning metric: everything that is not Normal.
	warnings, err := s.Count(ctx, Query{MustNot: []map[string]any{{"match_phrase": map[string]any{"type": "Normal"}}}})
	if err != nil || warnings != 5 {
		t.Fatalf("warning count = %d (%v)", warnings, err)
	}

	byNS, err := s.Terms(ctx, Query{}.And(Term("type", "Warning")), "metadata.namespace.keyword", 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(byNS) != 2 || byNS[0] != (TermCount{"test", 4}) || byNS[1] != (TermCount{"kube-system", 1}) {
		t.Fatalf("warnings by namespace = %v", byNS)
	}

	hist, err := s.DateHistogram(ctx, Query{}, "1m", "type.keyword")
	if err != nil {
		t.Fatal(err)
	}
	var warn, normal int64
	for _, b := range hist {
		warn += b.Counts["Warning"]
		normal += b.Counts["Normal"]
	}
	if len(hist) < 2 || warn != 5 || normal != 3 {
		t.Fatalf("histogram %+v: want ≥2 buckets, 5 Warning, 3 Normal", hist)
	}
	if first := hist[0]; !first.Start.Equal(base.Add(-time.Minute)) || first.Counts["Normal"] != 1 {
		t.Fatalf("first bucket %+v: want the ScalingReplicaSet a second before %s", first, base)
	}

	// Before any event is written there is no index: zero, not an error.
	empty := &Searcher{Client: client, Index: "eks-kubernetes-events-none*"}
	if n, err := empty.Count(ctx, Query{}); err != nil || n != 0 {
		t.Fatalf("count on missing index = %d, %v", n, err)
	}
}

// countByType is the dashboard's Normal/Warning pie: a terms
// aggregation on type.keyword.
func countByType(ctx context.Context, s *Searcher, q Query) (map[string]int64, error) {
	terms, err := s.Terms(ctx, q, "type.keyword", 10)
	out := map[string]int64{}
	for _, t := range terms {
		out[t.Key] = t.Count
	}
	return out, err
}
