package dashboard

import (
	"strings"
	"testing"
)

const fixtures = "../../fixtures/dashboards/"

func TestWorkshopDashboardPanels(t *testing.T) {
	f, err := Load(fixtures + "workshop.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"kubernetes-events", "Kubernetes events", ""} {
		d, err := f.Dashboard(key)
		if err != nil {
			t.Fatal(err)
		}
		if len(d.Panels) != 5 {
			t.Fatalf("%d panels, want the workshop's five", len(d.Panels))
		}
	}
	d, _ := f.Dashboard("kubernetes-events")
	byTitle := map[string]Panel{}
	for _, p := range d.Panels {
		byTitle[p.Title] = p
		if !p.Supported {
			t.Errorf("panel %s (%s) not supported", p.Title, p.Kind)
		}
		if p.Index.Title != "eks-kubernetes-events*" || p.Index.TimeField != "lastTimestamp" {
			t.Errorf("panel %s index %+v", p.Title, p.Index)
		}
	}
	if h := byTitle["Events over time"]; h.Kind != Histogram || h.DateField != "lastTimestamp" || h.Split != "type.keyword" {
		t.Errorf("histogram %+v", h)
	}
	if p := byTitle["Normal vs Warning"]; p.Kind != Pie || p.Split != "type.keyword" {
		t.Errorf("pie %+v", p)
	}
	if m := byTitle["Warnings"]; m.Kind != Metric || len(m.Filters) != 1 || m.Filters[0] != (Filter{Field: "type", Value: "Normal", Negate: true}) || !m.selectsWarnings() {
		t.Errorf("metric %+v", m)
	}
	if p := byTitle["Warnings by namespace"]; p.Split != "metadata.namespace.keyword" || !p.selectsWarnings() {
		t.Errorf("warnings by namespace %+v", p)
	}
	s := byTitle["Events"]
	if s.Kind != Search || strings.Join(s.Columns, ",") != "type,reason,metadata.namespace,involvedObject.kind,involvedObject.name,message" || s.Sort[0] != [2]string{"lastTimestamp", "desc"} {
		t.Errorf("table %+v", s)
	}
}

func TestBadDashboardsSayWhere(t *testing.T) {
	if _, err := Load(fixtures + "malformed.ndjson"); err == nil || !strings.Contains(err.Error(), "malformed.ndjson:2:") {
		t.Fatalf("malformed: %v", err)
	}
	f, err := Load(fixtures + "workshop.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Dashboard("nope"); err == nil || !strings.Contains(err.Error(), `no dashboard "nope"`) || !strings.Contains(err.Error(), "Kubernetes events") {
		t.Fatalf("missing dashboard: %v", err)
	}
	f, err = Load(fixtures + "missing-index-pattern.ndjson")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Dashboard(""); err == nil || !strings.Contains(err.Error(), "eks-events-ip, which is not in the file") || !strings.Contains(err.Error(), "missing-index-pattern.ndjson:1:") {
		t.Fatalf("missing index pattern: %v", err)
	}
}

func TestUnsupportedPanelsAreListedNotDropped(t *testing.T) {
	doc := `{"id":"ip","type":"index-pattern","attributes":{"title":"eks-kubernetes-events*","timeFieldName":"lastTimestamp"}}
{"id":"md","type":"visualization","attributes":{"title":"Notes","visState":"{\"type\":\"markdown\",\"aggs\":[]}","kibanaSavedObjectMeta":{"searchSourceJSON":"{}"}},"references":[{"name":"kibanaSavedObjectMeta.searchSourceJSON.index","type":"index-pattern","id":"ip"}]}
{"id":"d","type":"dashboard","attributes":{"title":"D","panelsJSON":"[{\"panelRefName\":\"panel_0\"}]"},"references":[{"name":"panel_0","type":"visualization","id":"md"}]}
`
	f, err := Parse("inline.ndjson", strings.NewReader(doc))
	if err != nil {
		t.Fatal(err)
	}
	d, err := f.Dashboard("D")
	if err != nil {
		t.Fatal(err)
	}
	res := Check(t.Context(), nil, d, Story{})
	if len(res) != 1 || !res[0].Skipped || !strings.Contains(res[0].Detail, "markdown") {
		t.Fatalf("results %+v", res)
	}
}
