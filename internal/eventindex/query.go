package eventindex

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
)

// Event is the part of an event document the checks read.
type Event struct {
	Type           string     `json:"type"`
	Reason         string     `json:"reason"`
	Message        string     `json:"message"`
	Count          int64      `json:"count"`
	FirstTimestamp *time.Time `json:"firstTimestamp"`
	LastTimestamp  *time.Time `json:"lastTimestamp"`
	Metadata       struct {
		Name      string `json:"name"`
		Namespace string `json:"namespace"`
		UID       string `json:"uid"`
	} `json:"metadata"`
	EventTime      *time.Time `json:"eventTime"`
	InvolvedObject struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Name       string `json:"name"`
		Namespace  string `json:"namespace"`
		// Labels are what enrichment added (absent without it).
		Labels map[string]string `json:"labels"`
	} `json:"involvedObject"`
	Source struct {
		Component string `json:"component"`
		Host      string `json:"host"`
	} `json:"source"`
}

// Doc is one event document.
type Doc struct {
	ID    string
	Event Event
	// Source is the document as stored, for claims about its fields; it
	// stays out of reports, which carry Event.
	Source json.RawMessage `json:"-"`
}

func (d Doc) String() string {
	e := d.Event
	return fmt.Sprintf("%s %s %s/%s %s: %q", e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.InvolvedObject.Namespace, e.Message)
}

// Query is a bool query in OpenSearch's DSL: documents that match every
// Filter clause and no MustNot clause.
type Query struct {
	Filter  []map[string]any
	MustNot []map[string]any
}

// DSL is the query as OpenSearch takes it.
func (q Query) DSL() map[string]any {
	if len(q.Filter) == 0 && len(q.MustNot) == 0 {
		return map[string]any{"match_all": map[string]any{}}
	}
	b := map[string]any{}
	if len(q.Filter) > 0 {
		b["filter"] = q.Filter
	}
	if len(q.MustNot) > 0 {
		b["must_not"] = q.MustNot
	}
	return map[string]any{"bool": b}
}

// And returns q with more filters.
func (q Query) And(clauses ...map[string]any) Query {
	q.Filter = append(slices.Clone(q.Filter), clauses...)
	return q
}

// Term matches a keyword field exactly (field without ".keyword").
func Term(field, value string) map[string]any {
	return map[string]any{"term": map[string]any{field + ".keyword": value}}
}

// TimeRange matches TimeField in [since, until]; zero ends are open.
func TimeRange(since, until time.Time) map[string]any {
	return timeRange(TimeField, since, until)
}

func timeRange(field string, since, until time.Time) map[string]any {
	r := map[string]any{}
	if !since.IsZero() {
		r["gte"] = since.UTC().Format(time.RFC3339Nano)
	}
	if !until.IsZero() {
		r["lte"] = until.UTC().Format(time.RFC3339Nano)
	}
	return map[string]any{"range": map[string]any{field: r}}
}

// Match describes the events a check looks for. Empty fields match
// anything. Messages are matched by substring (case-insensitive) or
// pattern, never whole: wording varies across Kubernetes versions.
type Match struct {
	Type          string
	Reason        string
	Kind          string
	NamePrefix    string
	Namespace     string
	Message       string
	MessageRegexp *regexp.Regexp
	Since, Until  time.Time
	// TimeField places documents in [Since, Until] (default TimeField,
	// the dashboard's).
	TimeField string
}

func (m Match) timeField() string {
	if m.TimeField == "" {
		return TimeField
	}
	return m.TimeField
}

// timeOf is a document's value of a time field the checks know.
func (e Event) timeOf(field string) *time.Time {
	switch field {
	case "firstTimestamp":
		return e.FirstTimestamp
	case "eventTime":
		return e.EventTime
	}
	return e.LastTimestamp
}

// Query narrows on the keyword fields and the time window; messages are
// checked on the results (message.keyword is capped at 256 characters by
// dynamic mapping, and image pull messages are longer).
func (m Match) Query() Query {
	var q Query
	for field, v := range map[string]string{
		"type": m.Type, "reason": m.Reason, "involvedObject.kind": m.Kind, "involvedObject.namespace": m.Namespace,
	} {
		if v != "" {
			q.Filter = append(q.Filter, Term(field, v))
		}
	}
	if m.NamePrefix != "" {
		q.Filter = append(q.Filter, map[string]any{"prefix": map[string]any{"involvedObject.name.keyword": m.NamePrefix}})
	}
	if !m.Since.IsZero() || !m.Until.IsZero() {
		q.Filter = append(q.Filter, timeRange(m.timeField(), m.Since, m.Until))
	}
	return q
}

// Failures lists, for a near miss, each criterion e does not meet.
func (m Match) Failures(e Event) []string {
	var f []string
	check := func(name, got, want string) {
		if want != "" && got != want {
			f = append(f, fmt.Sprintf("%s is %q, want %q", name, got, want))
		}
	}
	check("type", e.Type, m.Type)
	check("reason", e.Reason, m.Reason)
	check("involvedObject.kind", e.InvolvedObject.Kind, m.Kind)
	check("involvedObject.namespace", e.InvolvedObject.Namespace, m.Namespace)
	if m.NamePrefix != "" && !strings.HasPrefix(e.InvolvedObject.Name, m.NamePrefix) {
		f = append(f, fmt.Sprintf("involvedObject.name %q lacks prefix %q", e.InvolvedObject.Name, m.NamePrefix))
	}
	if m.Message != "" && !strings.Contains(strings.ToLower(e.Message), strings.ToLower(m.Message)) {
		f = append(f, fmt.Sprintf("message lacks %q", m.Message))
	}
	if m.MessageRegexp != nil && !m.MessageRegexp.MatchString(e.Message) {
		f = append(f, fmt.Sprintf("message does not match /%s/", m.MessageRegexp))
	}
	if !m.Since.IsZero() || !m.Until.IsZero() {
		field := m.timeField()
		switch at := e.timeOf(field); {
		case at == nil:
			f = append(f, fmt.Sprintf("%s is empty: a dashboard whose time field is %s never shows it (events written through events.k8s.io/v1 have none unless the exporter fills it)", field, field))
		case !m.Since.IsZero() && at.Before(m.Since):
			f = append(f, fmt.Sprintf("%s %s is before %s", field, at.Format(time.RFC3339), m.Since.Format(time.RFC3339)))
		case !m.Until.IsZero() && at.After(m.Until):
			f = append(f, fmt.Sprintf("%s %s is after %s", field, at.Format(time.RFC3339), m.Until.Format(time.RFC3339)))
		}
	}
	return f
}

// Miss is a document that met most of a Match, with what it failed.
type Miss struct {
	Doc      Doc
	Failures []string
}

// Result says what matched and, when nothing did, the nearest misses.
type Result struct {
	Matched    []Doc
	NearMisses []Miss
}

// Searcher runs queries against an index or pattern.
type Searcher struct {
	Client *opensearchapi.Client
	Index  string
}

// NewSearcher searches the index (or comma-separated patterns) an
// exporter writes; "" means Pattern.
func NewSearcher(c *opensearchapi.Client, index string) *Searcher {
	if index == "" {
		index = Pattern
	}
	return &Searcher{Client: c, Index: index}
}

// maxCandidates bounds one check's result set; a scenario namespace has
// far fewer events.
const maxCandidates = 1000

// nearMisses is how many near misses a Result keeps.
const nearMisses = 5

// Find returns the documents matching m, newest first; when there are
// none, the documents closest to matching.
func (s *Searcher) Find(ctx context.Context, m Match) (*Result, error) {
	docs, err := s.Search(ctx, m.Query(), maxCandidates)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	for _, d := range docs {
		if len(m.Failures(d.Event)) == 0 {
			res.Matched = append(res.Matched, d)
		}
	}
	if len(res.Matched) > 0 {
		return res, nil
	}
	// Nothing matched: look wider — anything in the time window, and what
	// matches but for the time (a document without the dashboard's time
	// field is the likeliest miss) — and rank by how close each came.
	wide := Match{Since: m.Since, Until: m.Until, TimeField: m.TimeField}
	timeless := m
	timeless.Since, timeless.Until = time.Time{}, time.Time{}
	seen := map[string]bool{}
	for _, q := range []Query{timeless.Query(), wide.Query()} {
		docs, err := s.Search(ctx, q, maxCandidates)
		if err != nil {
			return nil, err
		}
		for _, d := range docs {
			if !seen[d.ID] {
				seen[d.ID] = true
				res.NearMisses = append(res.NearMisses, Miss{Doc: d, Failures: m.Failures(d.Event)})
			}
		}
	}
	slices.SortStableFunc(res.NearMisses, func(a, b Miss) int { return len(a.Failures) - len(b.Failures) })
	if len(res.NearMisses) > nearMisses {
		res.NearMisses = res.NearMisses[:nearMisses]
	}
	return res, nil
}

// Search returns up to size documents matching q, newest first.
func (s *Searcher) Search(ctx context.Context, q Query, size int) ([]Doc, error) {
	body := map[string]any{
		"query": q.DSL(),
		"size":  size,
		"sort":  []any{map[string]any{TimeField: map[string]any{"order": "desc", "unmapped_type": "date"}}},
	}
	resp, err := s.search(ctx, body)
	if err != nil {
		return nil, err
	}
	docs := make([]Doc, 0, len(resp.Hits.Hits))
	for _, h := range resp.Hits.Hits {
		var e Event
		if err := json.Unmarshal(h.Source, &e); err != nil {
			return nil, fmt.Errorf("document %s in %s: %w", h.ID, h.Index, err)
		}
		docs = append(docs, Doc{ID: h.ID, Event: e, Source: h.Source})
	}
	return docs, nil
}

// Count returns the number of documents matching q.
func (s *Searcher) Count(ctx context.Context, q Query) (int64, error) {
	resp, err := s.search(ctx, map[string]any{"query": q.DSL(), "size": 0, "track_total_hits": true})
	if err != nil {
		return 0, err
	}
	return int64(resp.Hits.Total.Value), nil
}

// TermCount is one bucket of a terms aggregation.
type TermCount struct {
	Key   string
	Count int64
}

// Terms returns the top size values of a keyword field with their counts,
// most frequent first.
func (s *Searcher) Terms(ctx context.Context, q Query, field string, size int) ([]TermCount, error) {
	body := map[string]any{
		"query": q.DSL(),
		"size":  0,
		"aggs":  map[string]any{"terms": map[string]any{"terms": map[string]any{"field": field, "size": size}}},
	}
	var aggs struct {
		Terms termsAgg `json:"terms"`
	}
	if err := s.aggregate(ctx, body, &aggs); err != nil {
		return nil, err
	}
	return aggs.Terms.counts(), nil
}

// Bucket is one interval of a date histogram, split by a field's values.
type Bucket struct {
	Start  time.Time
	Total  int64
	Counts map[string]int64
}

// DateHistogram buckets documents by TimeField at a fixed interval (such as
// "30s" or "1m") and splits each bucket by a keyword field, as the
// dashboard's "events over time" panel does.
func (s *Searcher) DateHistogram(ctx context.Context, q Query, interval, split string) ([]Bucket, error) {
	body := map[string]any{
		"query": q.DSL(),
		"size":  0,
		"aggs": map[string]any{"histogram": map[string]any{
			"date_histogram": map[string]any{"field": TimeField, "fixed_interval": interval},
			"aggs":           map[string]any{"split": map[string]any{"terms": map[string]any{"field": split, "size": 20}}},
		}},
	}
	var aggs struct {
		Histogram struct {
			Buckets []struct {
				Key      int64    `json:"key"`
				DocCount int64    `json:"doc_count"`
				Split    termsAgg `json:"split"`
			} `json:"buckets"`
		} `json:"histogram"`
	}
	if err := s.aggregate(ctx, body, &aggs); err != nil {
		return nil, err
	}
	out := make([]Bucket, 0, len(aggs.Histogram.Buckets))
	for _, b := range aggs.Histogram.Buckets {
		counts := map[string]int64{}
		for _, t := range b.Split.counts() {
			counts[t.Key] = t.Count
		}
		out = append(out, Bucket{Start: time.UnixMilli(b.Key).UTC(), Total: b.DocCount, Counts: counts})
	}
	return out, nil
}

type termsAgg struct {
	Buckets []struct {
		Key      string `json:"key"`
		DocCount int64  `json:"doc_count"`
	} `json:"buckets"`
}

func (t termsAgg) counts() []TermCount {
	out := make([]TermCount, 0, len(t.Buckets))
	for _, b := range t.Buckets {
		out = append(out, TermCount{Key: b.Key, Count: b.DocCount})
	}
	return out
}

func (s *Searcher) aggregate(ctx context.Context, body map[string]any, into any) error {
	resp, err := s.search(ctx, body)
	if err != nil {
		return err
	}
	if len(resp.Aggregations) == 0 {
		return nil // no index yet: no buckets
	}
	if err := json.Unmarshal(resp.Aggregations, into); err != nil {
		return fmt.Errorf("unexpected aggregation response from %s: %w", s.Index, err)
	}
	return nil
}

func (s *Searcher) search(ctx context.Context, body map[string]any) (*opensearchapi.SearchResp, error) {
	data, err := json.Marshal(body)
	if err != nil {
		return nil, err
	}
	allow := true
	resp, err := s.Client.Search(ctx, &opensearchapi.SearchReq{
		Indices: strings.Split(s.Index, ","),
		Body:    bytes.NewReader(data),
		// Before the first event there is no index: that is zero results,
		// not an error.
		Params: opensearchapi.SearchParams{AllowNoIndices: &allow, IgnoreUnavailable: &allow},
	})
	if err != nil {
		return nil, fmt.Errorf("search on %s failed: %w", s.Index, err)
	}
	return resp, nil
}

// UIDField is the event UID in a document; the exporter's document id when
// documents are keyed by UID, but present whatever the id is.
const UIDField = "metadata.uid.keyword"

// uidChunk bounds the terms of one query (OpenSearch allows 65,536).
const uidChunk = 1000

// CountByUID returns how many documents carry each of the given event
// UIDs; a UID without documents is absent from the map.
func (s *Searcher) CountByUID(ctx context.Context, uids []string) (map[string]int64, error) {
	out := make(map[string]int64, len(uids))
	for chunk := range slices.Chunk(uids, uidChunk) {
		q := Query{}.And(map[string]any{"terms": map[string]any{UIDField: chunk}})
		terms, err := s.Terms(ctx, q, UIDField, len(chunk))
		if err != nil {
			return nil, err
		}
		for _, t := range terms {
			out[t.Key] = t.Count
		}
	}
	return out, nil
}

// maxResultWindow is OpenSearch's default index.max_result_window: a
// search asking for more results is refused.
const maxResultWindow = 10000

// ByUID returns the documents of the given event UIDs (up to 100 each,
// and at most maxResultWindow in all).
func (s *Searcher) ByUID(ctx context.Context, uids ...string) ([]Doc, error) {
	return s.Search(ctx, Query{}.And(map[string]any{"terms": map[string]any{UIDField: uids}}), min(100*len(uids), maxResultWindow))
}
