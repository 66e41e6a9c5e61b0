package report

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/wcharczuk/go-chart/v2"
	"github.com/wcharczuk/go-chart/v2/drawing"

	"github.com/eventcheck/eventcheck/internal/check"
	"github.com/eventcheck/eventcheck/internal/dashboard"
	"github.com/eventcheck/eventcheck/internal/eventindex"
)

// TimelineGroup is the events of one workload, oldest first.
type TimelineGroup struct {
	Name   string
	Events []eventindex.Doc
}

var (
	warningColor = drawing.ColorFromHex("d9534f")
	normalColor  = drawing.ColorFromHex("5b8def")
)

func typeColor(t string) drawing.Color {
	if t == "Warning" {
		return warningColor
	}
	return normalColor
}

// panelView is a panel as the page shows it.
type panelView struct {
	Title, Kind, Detail string
	Passed, Skipped     bool
	SVG                 template.HTML
	Metric              string
	Columns             []string
	Rows                [][]string
}

// inlineSVG renders a go-chart chart as SVG to inline in the page.
func inlineSVG(render func(chart.RendererProvider, io.Writer) error) (template.HTML, error) {
	var b bytes.Buffer
	if err := render(chart.SVG, &b); err != nil {
		return "", err
	}
	return template.HTML(b.String()), nil // #nosec G203 -- SVG drawn by go-chart from our own data
}

// histogramSVG draws the dashboard's events-over-time panel: counts per
// bucket, Warning stacked on Normal (the total drawn in the Warning colour
// behind the Normal bar).
func histogramSVG(buckets []eventindex.Bucket) (template.HTML, error) {
	if len(buckets) == 0 {
		return "", nil
	}
	if len(buckets) == 1 {
		// go-chart needs an x range: show the following empty interval.
		buckets = append(buckets, eventindex.Bucket{Start: buckets[0].Start.Add(30 * time.Second), Counts: map[string]int64{}})
	}
	var times []time.Time
	var totals, normals []float64
	top := 1.0
	for _, b := range buckets {
		n, w := float64(b.Counts["Normal"]), float64(b.Counts["Warning"])
		times = append(times, b.Start)
		totals = append(totals, n+w)
		normals = append(normals, n)
		top = max(top, n+w)
	}
	bar := func(c drawing.Color) chart.Style { return chart.Style{FillColor: c, StrokeColor: c, StrokeWidth: 1} }
	c := chart.Chart{
		Width: 640, Height: 320,
		Background: chart.Style{Padding: chart.Box{Top: 20, Left: 10, Right: 10, Bottom: 10}},
		XAxis:      chart.XAxis{ValueFormatter: chart.TimeValueFormatterWithFormat("15:04:05")},
		YAxis:      chart.YAxis{Name: "events", Range: &chart.ContinuousRange{Min: 0, Max: top * 1.1}},
		Series: []chart.Series{
			chart.HistogramSeries{Name: "Warning", Style: bar(warningColor), InnerSeries: chart.TimeSeries{XValues: times, YValues: totals}},
			chart.HistogramSeries{Name: "Normal", Style: bar(normalColor), InnerSeries: chart.TimeSeries{XValues: times, YValues: normals}},
		},
	}
	c.Elements = []chart.Renderable{chart.Legend(&c)}
	return inlineSVG(c.Render)
}

func pieSVG(terms []eventindex.TermCount) (template.HTML, error) {
	var values []chart.Value
	palette := []drawing.Color{drawing.ColorFromHex("5b8def"), drawing.ColorFromHex("f0ad4e"), drawing.ColorFromHex("5cb85c"), drawing.ColorFromHex("9b59b6")}
	for i, t := range terms {
		col := palette[i%len(palette)]
		if t.Key == "Warning" || t.Key == "Normal" {
			col = typeColor(t.Key)
		}
		values = append(values, chart.Value{Label: fmt.Sprintf("%s (%d)", t.Key, t.Count), Value: float64(t.Count), Style: chart.Style{FillColor: col}})
	}
	if len(values) == 0 {
		return "", nil
	}
	c := chart.PieChart{Width: 320, Height: 320, Values: values}
	return inlineSVG(c.Render)
}

func panelViews(results []dashboard.Result) ([]panelView, error) {
	var out []panelView
	for _, r := range results {
		v := panelView{Title: r.Panel.Title, Kind: r.Panel.Kind, Detail: r.Detail, Passed: r.Passed, Skipped: r.Skipped}
		var err error
		switch data := r.Data.(type) {
		case []eventindex.Bucket:
			v.SVG, err = histogramSVG(data)
		case []eventindex.TermCount:
			v.SVG, err = pieSVG(data)
		case int64:
			v.Metric = fmt.Sprint(data)
		case []eventindex.Doc:
			v.Columns = r.Panel.Columns
			for _, d := range data {
				v.Rows = append(v.Rows, columns(d, r.Panel.Columns))
			}
		}
		if err != nil {
			return nil, fmt.Errorf("panel %s: %w", r.Panel.Title, err)
		}
		out = append(out, v)
	}
	return out, nil
}

func columns(d eventindex.Doc, cols []string) []string {
	e := d.Event
	var out []string
	for _, c := range cols {
		switch c {
		case "type":
			out = append(out, e.Type)
		case "reason":
			out = append(out, e.Reason)
		case "metadata.namespace":
			out = append(out, e.Metadata.Namespace)
		case "involvedObject.kind":
			out = append(out, e.InvolvedObject.Kind)
		case "involvedObject.name":
			out = append(out, e.InvolvedObject.Name)
		case "message":
			out = append(out, e.Message)
		default:
			out = append(out, "")
		}
	}
	return out
}

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"dur": func(d time.Duration) string {
		if d <= 0 {
			return "-"
		}
		return d.Round(100 * time.Millisecond).String()
	},
	"when": func(t *time.Time) string {
		if t == nil {
			return ""
		}
		return t.UTC().Format("15:04:05")
	},
}).Parse(`<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>eventcheck: {{.Run.Scenario}} {{if .Run.Passed}}PASS{{else}}FAIL{{end}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#222}
h1 .pass{color:#2e7d32}h1 .fail{color:#c62828}
table{border-collapse:collapse;margin:.5rem 0 1.5rem}td,th{border:1px solid #ddd;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f5f5f5}.ok{color:#2e7d32}.bad{color:#c62828}.skip{color:#888}
.panels{display:flex;flex-wrap:wrap;gap:1rem}.panel{border:1px solid #ddd;border-radius:6px;padding:.75rem;min-width:320px}
.panel[data-kind=histogram]{min-width:660px}.panel[data-kind=search]{flex-basis:100%}
.metric{font-size:3rem;font-weight:600;color:#c62828}pre{background:#f7f7f7;padding:1rem;overflow:auto}
.Warning{color:#c62828}.Normal{color:#1f5fbf}
.claim .verdict{font-weight:600}.holds .verdict{color:#2e7d32}.drifted .verdict{color:#b26a00}.failed .verdict{color:#c62828}.skipped .verdict{color:#888}
#page{border-left:4px solid #ddd;padding-left:1rem}#page p.claim{margin:.25rem 0 .75rem;padding:.25rem .5rem;background:#fafafa;border-radius:4px}
</style></head><body>
<h1>{{.Run.Scenario}}: {{if .Run.Passed}}<span class="pass">PASS</span>{{else}}<span class="fail">FAIL</span>{{end}}</h1>
<p id="summary">{{.Passed}} passed, {{.Failed}} failed in {{dur .Run.Duration}} (environment up in {{dur .Run.EnvUp}}) on cluster {{.Run.Cluster}}, OpenSearch {{.Run.OpenSearch}}, started {{.Run.Started.UTC.Format "2006-01-02 15:04:05 UTC"}}.</p>
{{if .Run.Error}}<pre id="error">{{.Run.Error}}</pre>{{end}}
{{range .Run.Notes}}<p class="note">note: {{.}}</p>{{end}}
<h2>Checks</h2>
<table id="checks"><tr><th>Phase</th><th>Check</th><th>Result</th><th>Apply → holds</th><th>Detail</th></tr>
{{range .Run.Results}}<tr><td>{{.Phase}}</td><td>{{.Kind}} {{.Name}}</td><td>{{if .Passed}}<span class="ok">✓</span>{{else}}<span class="bad">✗</span>{{end}}</td><td>{{dur .Elapsed}}</td><td>{{.Detail}}</td></tr>
{{end}}</table>
{{with .Accounted}}<h2>Every event accounted for</h2>
<table id="accounting"><tr><th>Phase</th><th>Scope</th><th>Events in the API</th><th>With a document</th><th>Missing</th><th>Duplicated</th></tr>
{{range .}}<tr><td>{{.Phase}}</td><td>{{.Accounting.Scope}}</td><td>{{.Accounting.Events}}</td><td class="{{if .Passed}}ok{{else}}bad{{end}}">{{.Accounting.Documented}}</td><td>{{range .Accounting.Missing}}{{.}}<br>{{end}}</td><td>{{range .Accounting.Duplicated}}{{.}}<br>{{end}}</td></tr>
{{end}}</table>{{end}}
{{if .Panels}}<h2>Dashboard</h2><div class="panels" id="dashboard">
{{range .Panels}}<div class="panel" data-kind="{{.Kind}}"><h3>{{.Title}} {{if .Skipped}}<span class="skip">(skipped)</span>{{else if .Passed}}<span class="ok">✓</span>{{else}}<span class="bad">✗</span>{{end}}</h3>
{{if .SVG}}<div class="chart">{{.SVG}}</div>{{end}}{{if .Metric}}<div class="metric">{{.Metric}}</div>{{end}}
{{if .Columns}}<table class="events"><tr>{{range .Columns}}<th>{{.}}</th>{{end}}</tr>{{range .Rows}}<tr>{{range .}}<td>{{.}}</td>{{end}}</tr>{{end}}</table>{{end}}
<p>{{.Detail}}</p></div>
{{end}}</div>{{end}}
{{if .Timeline}}<h2>Timeline</h2>{{range .Timeline}}<h3>{{.Name}}</h3><table class="timeline"><tr><th>Last seen</th><th>Type</th><th>Reason</th><th>Object</th><th>Count</th><th>Message</th></tr>
{{range .Events}}<tr><td>{{when .Event.LastTimestamp}}</td><td class="{{.Event.Type}}">{{.Event.Type}}</td><td>{{.Event.Reason}}</td><td>{{.Event.InvolvedObject.Kind}}/{{.Event.InvolvedObject.Name}}</td><td>{{.Event.Count}}</td><td>{{.Event.Message}}</td></tr>
{{end}}</table>{{end}}{{end}}
{{with .Run.Claims}}<h2>The page's claims</h2>
<table id="claims"><tr><th>Where</th><th>Verdict</th><th>The page</th><th>The run</th></tr>
{{range .}}<tr class="claim {{.Verdict}}"><td>{{.File}}:{{.Line}}</td><td class="verdict">{{.Verdict}}</td><td><code>{{.Page}}</code></td><td>{{.Run}}</td></tr>
{{end}}</table>{{end}}
{{with .Run.Page}}<h2>The page: {{.File}}</h2><div id="page">
{{range .Blocks}}<div class="block">{{.HTML}}{{range .Claims}}<p class="claim {{.Verdict}}" id="claim-{{.Line}}"><span class="verdict">{{.Verdict}}</span> line {{.Line}}: {{.Run}}</p>{{end}}</div>
{{end}}</div>{{end}}
{{if .Run.Diagnostics}}<h2>Diagnostics</h2><pre id="diagnostics">{{.Run.Diagnostics}}</pre>{{end}}
</body></html>
`))

// WriteHTML writes one self-contained page: no scripts, no network.
func WriteHTML(path string, r *Run, panels []dashboard.Result, timeline []TimelineGroup) error {
	views, err := panelViews(panels)
	if err != nil {
		return err
	}
	passed := 0
	for _, res := range r.Results {
		if res.Passed {
			passed++
		}
	}
	var accounted []check.Result
	for _, res := range r.Results {
		if res.Accounting != nil {
			accounted = append(accounted, res)
		}
	}
	var b bytes.Buffer
	if err := page.Execute(&b, map[string]any{"Run": r, "Panels": views, "Timeline": timeline, "Accounted": accounted,
		"Passed": passed, "Failed": len(r.Results) - passed}); err != nil {
		return err
	}
	return writeFile("HTML", path, b.Bytes())
}

// Timeline groups documents by the workload whose name prefixes their
// object's, oldest first; the rest go under "other".
func Timeline(docs []eventindex.Doc, workloads []string) []TimelineGroup {
	sort.Strings(workloads)
	groups := map[string][]eventindex.Doc{}
	for _, d := range docs {
		name := "other"
		for _, w := range workloads {
			if strings.HasPrefix(d.Event.InvolvedObject.Name, w) {
				name = w
			}
		}
		groups[name] = append(groups[name], d)
	}
	var out []TimelineGroup
	for _, name := range append(workloads, "other") {
		evs := groups[name]
		if len(evs) == 0 {
			continue
		}
		sort.SliceStable(evs, func(i, j int) bool {
			a, b := evs[i].Event.LastTimestamp, evs[j].Event.LastTimestamp
			return a != nil && b != nil && a.Before(*b)
		})
		out = append(out, TimelineGroup{Name: name, Events: evs})
	}
	return out
}
