// Package dashboard reads an OpenSearch Dashboards saved-objects export
// (ndjson) and turns a dashboard's panels into the queries they run, so a
// run can check the story a person would see on them.
package dashboard

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/eventcheck/eventcheck/internal/inputfile"
)

// Object is one saved object.
type Object struct {
	ID         string          `json:"id"`
	Type       string          `json:"type"`
	Attributes json.RawMessage `json:"attributes"`
	References []Reference     `json:"references"`
	// Line is where the object is in the file.
	Line int `json:"-"`
}

// Reference links saved objects.
type Reference struct {
	Name string `json:"name"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// File is a parsed export.
type File struct {
	Path    string
	Objects map[string]*Object // by type/id
	Order   []*Object
}

// Load reads an ndjson export (at most inputfile.Dashboards bytes); a
// malformed line is an error that names it.
func Load(path string) (*File, error) {
	data, err := inputfile.Read("dashboards export", path, inputfile.Dashboards)
	if err != nil {
		return nil, err
	}
	return Parse(path, bytes.NewReader(data))
}

// Parse reads an ndjson export from r; name is used in messages.
func Parse(name string, r io.Reader) (*File, error) {
	f := &File{Path: name, Objects: map[string]*Object{}}
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 64<<20)
	line := 0
	for sc.Scan() {
		line++
		text := strings.TrimSpace(sc.Text())
		if text == "" {
			continue
		}
		var o Object
		if err := json.Unmarshal([]byte(text), &o); err != nil {
			return nil, fmt.Errorf("%s:%d: not a saved object: %v", name, line, err)
		}
		if o.ID == "" || o.Type == "" {
			// The export's summary line ({"exportedCount":...}) has neither.
			if strings.Contains(text, "exportedCount") {
				continue
			}
			return nil, fmt.Errorf("%s:%d: saved object without id or type", name, line)
		}
		o.Line = line
		f.Objects[o.Type+"/"+o.ID] = &o
		f.Order = append(f.Order, &o)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return f, nil
}

// IndexPattern is what a panel searches.
type IndexPattern struct {
	ID        string
	Title     string // the pattern, e.g. eks-kubernetes-events*
	TimeField string
}

// Panel kinds we turn into queries.
const (
	Histogram = "histogram" // date histogram split by a terms field
	Pie       = "pie"       // terms split
	Metric    = "metric"    // count with filters
	Search    = "search"    // a saved search: columns and sort
)

// Filter is one query clause of a panel (a phrase match, maybe negated).
type Filter struct {
	Field  string
	Value  string
	Negate bool
}

// Panel is one panel of a dashboard, as the queries it runs.
type Panel struct {
	Title   string
	ID      string
	Kind    string // one of the kinds above, or the unsupported type
	Index   IndexPattern
	Filters []Filter
	// DateField and Interval of a histogram; Split is the terms field of a
	// histogram's sub-buckets or a pie's slices.
	DateField string
	Split     string
	Size      int
	// Columns and Sort of a saved search.
	Columns []string
	Sort    [][2]string
	// Supported is false for kinds we do not turn into queries; they are
	// listed as skipped, never silently dropped.
	Supported bool
	Line      int
}

// Dashboard is a dashboard and its panels.
type Dashboard struct {
	ID     string
	Title  string
	Panels []Panel
}

// Dashboard finds a dashboard by id or title.
func (f *File) Dashboard(idOrTitle string) (*Dashboard, error) {
	var found *Object
	var names []string
	for _, o := range f.Order {
		if o.Type != "dashboard" {
			continue
		}
		var a struct {
			Title string `json:"title"`
		}
		_ = json.Unmarshal(o.Attributes, &a)
		names = append(names, fmt.Sprintf("%q (%s)", a.Title, o.ID))
		if o.ID == idOrTitle || a.Title == idOrTitle || idOrTitle == "" {
			found = o
			if idOrTitle != "" {
				break
			}
		}
	}
	if found == nil {
		return nil, fmt.Errorf("%s: no dashboard %q (dashboards in the file: %s)", f.Path, idOrTitle, strings.Join(names, ", "))
	}
	var a struct {
		Title      string `json:"title"`
		PanelsJSON string `json:"panelsJSON"`
	}
	if err := json.Unmarshal(found.Attributes, &a); err != nil {
		return nil, fmt.Errorf("%s:%d: dashboard %s: %v", f.Path, found.Line, found.ID, err)
	}
	var panels []struct {
		PanelRefName string `json:"panelRefName"`
	}
	if err := json.Unmarshal([]byte(a.PanelsJSON), &panels); err != nil {
		return nil, fmt.Errorf("%s:%d: dashboard %s panelsJSON: %v", f.Path, found.Line, found.ID, err)
	}
	d := &Dashboard{ID: found.ID, Title: a.Title}
	for _, p := range panels {
		ref, ok := reference(found.References, p.PanelRefName)
		if !ok {
			return nil, fmt.Errorf("%s:%d: dashboard %s: panel %s has no reference", f.Path, found.Line, found.ID, p.PanelRefName)
		}
		obj, ok := f.Objects[ref.Type+"/"+ref.ID]
		if !ok {
			return nil, fmt.Errorf("%s:%d: dashboard %s: panel %s refers to %s %s, which is not in the file", f.Path, found.Line, found.ID, p.PanelRefName, ref.Type, ref.ID)
		}
		panel, err := f.panel(obj)
		if err != nil {
			return nil, err
		}
		d.Panels = append(d.Panels, panel)
	}
	return d, nil
}

// MissingPanels lists, for a dashboard object, each panel that refers to
// nothing or to an object the file does not hold: what Dashboard refuses,
// said for every panel (lint reads a whole export).
func (f *File) MissingPanels(o *Object) []error {
	var a struct {
		PanelsJSON string `json:"panelsJSON"`
	}
	if err := json.Unmarshal(o.Attributes, &a); err != nil {
		return []error{fmt.Errorf("%s:%d: dashboard %s: %v", f.Path, o.Line, o.ID, err)}
	}
	var panels []struct {
		PanelRefName string `json:"panelRefName"`
	}
	if err := json.Unmarshal([]byte(a.PanelsJSON), &panels); err != nil {
		return []error{fmt.Errorf("%s:%d: dashboard %s panelsJSON: %v", f.Path, o.Line, o.ID, err)}
	}
	var errs []error
	for _, p := range panels {
		ref, ok := reference(o.References, p.PanelRefName)
		switch {
		case !ok:
			errs = append(errs, fmt.Errorf("%s:%d: dashboard %s: panel %s has no reference", f.Path, o.Line, o.ID, p.PanelRefName))
		case f.Objects[ref.Type+"/"+ref.ID] == nil:
			errs = append(errs, fmt.Errorf("%s:%d: dashboard %s: panel %s refers to %s %s, which is not in the file", f.Path, o.Line, o.ID, p.PanelRefName, ref.Type, ref.ID))
		}
	}
	return errs
}

func reference(refs []Reference, name string) (Reference, bool) {
	for _, r := range refs {
		if r.Name == name {
			return r, true
		}
	}
	return Reference{}, false
}

type visAttributes struct {
	Title       string      `json:"title"`
	VisState    string      `json:"visState"`
	Columns     []string    `json:"columns"`
	Sort        [][2]string `json:"sort"`
	SavedObject struct {
		SearchSourceJSON string `json:"searchSourceJSON"`
	} `json:"kibanaSavedObjectMeta"`
}

type visState struct {
	Type string `json:"type"`
	Aggs []struct {
		Type   string `json:"type"`
		Schema string `json:"schema"`
		Params struct {
			Field string `json:"field"`
			Size  int    `json:"size"`
		} `json:"params"`
	} `json:"aggs"`
}

type searchSource struct {
	Filter []struct {
		Meta struct {
			Negate   bool `json:"negate"`
			Disabled bool `json:"disabled"`
		} `json:"meta"`
		Query struct {
			MatchPhrase map[string]any `json:"match_phrase"`
		} `json:"query"`
	} `json:"filter"`
}

// IndexPatternOf returns the index pattern a visualization or search uses.
func (f *File) IndexPatternOf(o *Object) (IndexPattern, error) {
	ref, ok := reference(o.References, "kibanaSavedObjectMeta.searchSourceJSON.index")
	if !ok {
		return IndexPattern{}, fmt.Errorf("%s:%d: %s %s has no index pattern reference", f.Path, o.Line, o.Type, o.ID)
	}
	ip, ok := f.Objects["index-pattern/"+ref.ID]
	if !ok {
		return IndexPattern{}, fmt.Errorf("%s:%d: %s %s uses index pattern %s, which is not in the file", f.Path, o.Line, o.Type, o.ID, ref.ID)
	}
	var a struct {
		Title         string `json:"title"`
		TimeFieldName string `json:"timeFieldName"`
	}
	if err := json.Unmarshal(ip.Attributes, &a); err != nil {
		return IndexPattern{}, fmt.Errorf("%s:%d: index pattern %s: %v", f.Path, ip.Line, ip.ID, err)
	}
	return IndexPattern{ID: ip.ID, Title: a.Title, TimeField: a.TimeFieldName}, nil
}

// PanelOf reads a visualization or saved search as a panel.
func (f *File) PanelOf(o *Object) (Panel, error) { return f.panel(o) }

func (f *File) panel(o *Object) (Panel, error) {
	var a visAttributes
	if err := json.Unmarshal(o.Attributes, &a); err != nil {
		return Panel{}, fmt.Errorf("%s:%d: %s %s: %v", f.Path, o.Line, o.Type, o.ID, err)
	}
	p := Panel{Title: a.Title, ID: o.ID, Line: o.Line}
	var err error
	if p.Index, err = f.IndexPatternOf(o); err != nil {
		return Panel{}, err
	}
	if a.SavedObject.SearchSourceJSON != "" {
		var ss searchSource
		if err := json.Unmarshal([]byte(a.SavedObject.SearchSourceJSON), &ss); err != nil {
			return Panel{}, fmt.Errorf("%s:%d: %s %s searchSourceJSON: %v", f.Path, o.Line, o.Type, o.ID, err)
		}
		for _, fl := range ss.Filter {
			if fl.Meta.Disabled {
				continue
			}
			for field, v := range fl.Query.MatchPhrase {
				p.Filters = append(p.Filters, Filter{Field: field, Value: fmt.Sprint(v), Negate: fl.Meta.Negate})
			}
		}
	}
	if o.Type == "search" {
		p.Kind, p.Columns, p.Sort, p.Supported = Search, a.Columns, a.Sort, true
		return p, nil
	}
	var vs visState
	if err := json.Unmarshal([]byte(a.VisState), &vs); err != nil {
		return Panel{}, fmt.Errorf("%s:%d: visualization %s visState: %v", f.Path, o.Line, o.ID, err)
	}
	p.Kind = vs.Type
	for _, agg := range vs.Aggs {
		switch agg.Type {
		case "date_histogram":
			p.DateField = agg.Params.Field
		case "terms":
			p.Split, p.Size = agg.Params.Field, agg.Params.Size
		}
	}
	switch vs.Type {
	case "histogram", "line", "area":
		p.Kind, p.Supported = Histogram, p.DateField != ""
	case "pie":
		p.Supported = p.Split != ""
	case "metric":
		p.Supported = true
	}
	return p, nil
}

// Fields lists every field a panel reads (for lint).
func (p Panel) Fields() []string {
	var out []string
	for _, f := range []string{p.DateField, p.Split, p.Index.TimeField} {
		if f != "" {
			out = append(out, f)
		}
	}
	for _, fl := range p.Filters {
		out = append(out, fl.Field)
	}
	out = append(out, p.Columns...)
	return out
}
