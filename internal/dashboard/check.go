package dashboard

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/eventcheck/eventcheck/internal/eventindex"
)

// Story is what a person should read on the dashboard after a phase.
type Story struct {
	Namespace       string
	Since, Until    time.Time
	WarningsAtLeast int
	// Rows the events table must show: a reason with a message substring.
	Rows []Row
	// Types the histogram and the pie split by type must both show
	// (default Warning and Normal: the broken and the fixed story).
	Types []string
	// Interval of the date histogram (default 30s).
	Interval string
}

// Defaults of a Story.
var (
	DefaultTypes    = []string{"Warning", "Normal"}
	DefaultInterval = "30s"
)

// Row is an expected line of the events table.
type Row struct {
	Reason  string `yaml:"reason"`
	Message string `yaml:"message"`
}

// Result is one panel's outcome. Data holds what the panel showed
// ([]eventindex.Bucket, []eventindex.TermCount, int64 or []eventindex.Doc).
type Result struct {
	Panel   Panel
	Skipped bool
	Passed  bool
	Detail  string
	Data    any
}

func (p Panel) query(s Story) eventindex.Query {
	q := eventindex.Query{}.And(eventindex.TimeRange(s.Since, s.Until))
	for _, f := range p.Filters {
		clause := map[string]any{"match_phrase": map[string]any{f.Field: f.Value}}
		if f.Negate {
			q.MustNot = append(q.MustNot, clause)
		} else {
			q.Filter = append(q.Filter, clause)
		}
	}
	return q
}

// selectsWarnings is true when a panel's filters leave only Warnings.
func (p Panel) selectsWarnings() bool {
	for _, f := range p.Filters {
		if f.Field == "type" && ((f.Value == "Normal" && f.Negate) || (f.Value == "Warning" && !f.Negate)) {
			return true
		}
	}
	return false
}

// Check runs every panel's query over the story's time range and checks
// what a person would see.
func Check(ctx context.Context, search *eventindex.Searcher, d *Dashboard, s Story) []Result {
	var out []Result
	for _, p := range d.Panels {
		out = append(out, checkPanel(ctx, search, p, s))
	}
	return out
}

func checkPanel(ctx context.Context, searcher *eventindex.Searcher, p Panel, s Story) Result {
	r := Result{Panel: p}
	if !p.Supported {
		r.Skipped, r.Detail = true, fmt.Sprintf("panel kind %q is not checked", p.Kind)
		return r
	}
	// The panel searches its own index pattern.
	search := &eventindex.Searcher{Client: searcher.Client, Index: p.Index.Title}
	if p.Index.TimeField != eventindex.TimeField {
		r.Detail = fmt.Sprintf("index pattern %s uses time field %q; the exporter's documents are placed in time by %q", p.Index.Title, p.Index.TimeField, eventindex.TimeField)
		return r
	}
	q := p.query(s)
	var err error
	switch p.Kind {
	case Histogram:
		err = checkHistogram(ctx, search, q, p, s, &r)
	case Pie:
		err = checkPie(ctx, search, q, p, s, &r)
	case Metric:
		err = checkMetric(ctx, search, q, p, s, &r)
	case Search:
		err = checkSearch(ctx, search, q, s, &r)
	}
	// A failed query fails the panel whatever its kind concluded, with
	// the error as the detail (Data keeps what was read).
	if err != nil {
		r.Passed, r.Detail = false, err.Error()
	}
	return r
}

// checkHistogram passes when every one of the story's types has events in
// some bucket of the date histogram.
func checkHistogram(ctx context.Context, search *eventindex.Searcher, q eventindex.Query, p Panel, s Story, r *Result) error {
	buckets, err := search.DateHistogram(ctx, q, cmp.Or(s.Interval, DefaultInterval), p.Split)
	r.Data = buckets
	totals := map[string]int64{}
	for _, b := range buckets {
		for k, v := range b.Counts {
			totals[k] += v
		}
	}
	r.Passed = true
	parts := make([]string, 0, len(s.types()))
	for _, t := range s.types() {
		r.Passed = r.Passed && totals[t] > 0
		parts = append(parts, fmt.Sprintf("%d %s", totals[t], t))
	}
	r.Detail = fmt.Sprintf("%d buckets: %s", len(buckets), strings.Join(parts, ", "))
	return err
}

// checkPie passes when the slices show what the split is about: every
// story type for a split by type, the story's namespace for a split by
// namespace, and any slice at all otherwise.
func checkPie(ctx context.Context, search *eventindex.Searcher, q eventindex.Query, p Panel, s Story, r *Result) error {
	terms, err := search.Terms(ctx, q, p.Split, max(p.Size, 10))
	r.Data = terms
	keys := make([]string, 0, len(terms))
	for _, t := range terms {
		keys = append(keys, t.Key)
	}
	switch {
	case strings.HasPrefix(p.Split, "type"):
		r.Passed = !slices.ContainsFunc(s.types(), func(t string) bool { return !slices.Contains(keys, t) })
	case strings.Contains(p.Split, "namespace"):
		r.Passed = slices.Contains(keys, s.Namespace)
	default:
		r.Passed = len(keys) > 0
	}
	parts := make([]string, 0, len(terms))
	for _, t := range terms {
		parts = append(parts, fmt.Sprintf("%s %d", t.Key, t.Count))
	}
	r.Detail = "slices: " + strings.Join(parts, ", ")
	return err
}

// checkMetric passes when the story's namespace alone makes the count:
// at least one event, or for a Warnings panel at least WarningsAtLeast.
func checkMetric(ctx context.Context, search *eventindex.Searcher, q eventindex.Query, p Panel, s Story, r *Result) error {
	// The panel shows every namespace's count; the story's own events
	// must be what makes it: the nodes' Warnings in default are no
	// stand-in for the scenario's.
	n, err := search.Count(ctx, q)
	var own int64
	if err == nil {
		own, err = search.Count(ctx, q.And(eventindex.Term("metadata.namespace", s.Namespace)))
	}
	r.Data = n
	want := int64(1)
	if p.selectsWarnings() {
		want = int64(max(s.WarningsAtLeast, 1))
	}
	r.Passed = own >= want
	r.Detail = fmt.Sprintf("shows %d, %d of them in namespace %s (want at least %d there)", n, own, s.Namespace, want)
	return err
}

// checkSearch passes when the events table, limited to the story's
// namespace, has rows and a row for each of the story's Rows (reason
// equal, message containing the text, case aside).
func checkSearch(ctx context.Context, search *eventindex.Searcher, q eventindex.Query, s Story, r *Result) error {
	docs, err := search.Search(ctx, q.And(eventindex.Term("metadata.namespace", s.Namespace)), 500)
	r.Data = docs
	var missing []string
	for _, row := range s.Rows {
		if !slices.ContainsFunc(docs, func(d eventindex.Doc) bool {
			return d.Event.Reason == row.Reason && strings.Contains(strings.ToLower(d.Event.Message), strings.ToLower(row.Message))
		}) {
			desc := row.Reason
			if row.Message != "" {
				desc += fmt.Sprintf(" %q", row.Message)
			}
			missing = append(missing, desc)
		}
	}
	r.Passed = len(missing) == 0 && len(docs) > 0
	r.Detail = fmt.Sprintf("%d rows", len(docs))
	if len(missing) > 0 {
		r.Detail += "; no row for " + strings.Join(missing, ", ") + " in the time range"
	}
	return err
}

func (s Story) types() []string {
	if len(s.Types) == 0 {
		return DefaultTypes
	}
	return s.Types
}
