// Package lint checks workshop content without running it: the exporter's
// configuration, a scenario directory and a dashboards export, each alone
// or against the others. Findings name file, line and column.
package lint

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/kustomize/api/konfig"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/eventcheck/eventcheck/exporter"
	"github.com/eventcheck/eventcheck/exporter/config"
	"github.com/eventcheck/eventcheck/exporter/document"
	"github.com/eventcheck/eventcheck/internal/dashboard"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/exportervalues"
	"github.com/eventcheck/eventcheck/internal/manifest"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// Severities.
const (
	Error   = "error"
	Warning = "warning"
	// Info is said once and never fails lint: for example the objects of
	// another pipeline's dashboards in the same export.
	Info = "info"
)

// Finding is one thing wrong, located.
type Finding struct {
	File     string `json:"file"`
	Line     int    `json:"line,omitempty"`
	Column   int    `json:"column,omitempty"`
	Severity string `json:"severity"`
	Message  string `json:"message"`
}

// String is file:line:col: severity: message (line and column when known).
func (f Finding) String() string {
	loc := f.File
	if f.Line > 0 {
		loc += ":" + strconv.Itoa(f.Line)
		if f.Column > 0 {
			loc += ":" + strconv.Itoa(f.Column)
		}
	}
	return fmt.Sprintf("%s: %s: %s", loc, f.Severity, f.Message)
}

// Inputs say what to lint; any subset.
type Inputs struct {
	Scenario string
	// Checks is a checks file to use instead of the scenario's own.
	Checks string
	// AllowOutsideScenario lets phases apply directories outside it.
	AllowOutsideScenario bool
	ExporterConfig       string // the exporter's config or a Helm values file
	// Set are install-time overrides of the exporter config (Helm's
	// --set syntax), as the workshop page passes them.
	Set         []string
	Dashboards  string // saved-objects ndjson
	DashboardID string
	// Cluster, when set, gets a server-side dry-run of every phase.
	Cluster *rest.Config
	// Pages are a workshop page and its translations, with Manifests the
	// directory their ~/environment/eks-workshop stands for.
	Pages     []string
	Manifests string
}

// Run lints the inputs; findings come sorted by file and line. The
// exporter config is the one a run would use: --exporter-config, else
// checks.yaml's exporter.values, with checks.yaml's exporter.set and then
// --set applied.
func Run(ctx context.Context, in Inputs) []Finding {
	var out []Finding
	if len(in.Pages) > 0 {
		out = append(out, pageFindings(in)...)
	}
	var s *scenario.Scenario
	if in.Scenario != "" {
		if in.Checks == "" && isDir(in.Scenario) && !exists(filepath.Join(in.Scenario, scenario.ChecksFile)) {
			// A workshop module ships kustomizations and no checks.yaml
			// (its page tells the story): lint what is there.
			_, cfg, fs := exporterFindings(in.ExporterConfig, in.Set)
			out = append(append(out, fs...), kustomizations(ctx, in.Scenario, in.Cluster)...)
			return sorted(append(out, dashboardFindings(in, cfg)...))
		}
		opts := []scenario.LoadOption{scenario.AllowOutside(in.AllowOutsideScenario)}
		if in.Checks != "" {
			opts = append(opts, scenario.ChecksAt(in.Checks))
		}
		var fs []Finding
		s, fs = scenarioFindings(ctx, in.Scenario, in.Checks, in.Cluster, opts...)
		out = append(out, fs...)
	}
	file, set := in.ExporterConfig, in.Set
	if s != nil {
		file, set = s.ExporterInputs(file, set)
	}
	values, cfg, fs := exporterFindings(file, set)
	out = append(out, fs...)
	if s != nil && cfg != nil {
		out = append(out, routeFindings(file, values, cfg, s)...)
	}
	return sorted(append(out, dashboardFindings(in, cfg)...))
}

// exporterFindings lints the exporter config file with set applied; set
// without a file is an error, as run refuses it.
func exporterFindings(file string, set []string) (*exportervalues.Values, *config.Config, []Finding) {
	if file == "" {
		if len(set) > 0 {
			return nil, nil, []Finding{{File: "--set", Severity: Error, Message: "--set needs an exporter config to apply to: give --exporter-config (or exporter.values in checks.yaml)"}}
		}
		return nil, nil, nil
	}
	return exporterConfig(file, set)
}

func dashboardFindings(in Inputs, cfg *config.Config) []Finding {
	if in.Dashboards == "" {
		return nil
	}
	return dashboards(in.Dashboards, in.DashboardID, cfg)
}

// sorted orders findings by file and line.
func sorted(out []Finding) []Finding {
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].File != out[j].File {
			return out[i].File < out[j].File
		}
		return out[i].Line < out[j].Line
	})
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}

// kustomizations renders every kustomization under dir (and, with a
// cluster, dry-runs it server-side), for a scenario directory without a
// checks.yaml; an info finding says that nothing else was checked.
func kustomizations(ctx context.Context, dir string, cluster *rest.Config) []Finding {
	var out []Finding
	var dirs []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && slices.Contains(konfig.RecognizedKustomizationFileNames(), d.Name()) {
			dirs = append(dirs, filepath.Dir(p))
		}
		return err
	})
	if err != nil {
		return []Finding{{File: dir, Severity: Error, Message: err.Error()}}
	}
	if len(dirs) == 0 {
		return []Finding{{File: dir, Severity: Error, Message: "no checks.yaml and no kustomization: give the module's scenario directory (with kustomization.yaml files), or --checks"}}
	}
	for _, d := range dirs {
		objs, err := manifest.Render(filesys.MakeFsOnDisk(), d)
		if err == nil && cluster != nil {
			var a *manifest.Applier
			if a, err = manifest.NewApplier(cluster); err == nil {
				err = a.DryRun(ctx, objs)
			}
		}
		if err != nil {
			out = append(out, Finding{File: filepath.Join(d, "kustomization.yaml"), Severity: Error, Message: err.Error()})
		}
	}
	return append(out, Finding{File: dir, Severity: Info, Message: fmt.Sprintf(
		"no %s: rendered %d kustomization(s); no check was linted (give --checks, or lint the page that tells the story)", scenario.ChecksFile, len(dirs))})
}

// HasErrors is true when any finding is an error.
func HasErrors(fs []Finding) bool {
	for _, f := range fs {
		if f.Severity == Error {
			return true
		}
	}
	return false
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// located turns an error into a finding, using a "line N" in its text.
func located(file string, err error) Finding {
	f := Finding{File: file, Severity: Error, Message: err.Error()}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		f.Line, _ = strconv.Atoi(m[1])
	}
	return f
}

func exporterConfig(file string, set []string) (*exportervalues.Values, *config.Config, []Finding) {
	values, err := exportervalues.Load(file, set)
	if err != nil {
		return nil, nil, []Finding{located(file, err)}
	}
	// Variables are the deployment's business: lint the shape, not the
	// environment it runs in.
	cfg, err := values.Config(func(string) (string, bool) { return "set", true })
	var ps config.Problems
	switch {
	case errors.As(err, &ps):
		var out []Finding
		for _, p := range ps {
			out = append(out, Finding{File: file, Line: p.Line, Column: p.Column, Severity: Error, Message: p.Path + ": " + p.Message})
		}
		return values, nil, out
	case err != nil:
		return values, nil, []Finding{located(file, err)}
	}
	var out []Finding
	at := func(path string, severity, format string, args ...any) {
		line, col := values.Position(path)
		out = append(out, Finding{File: file, Line: line, Column: col, Severity: severity, Message: fmt.Sprintf(format, args...)})
	}
	used := cfg.Route.ReceiverNames()
	for i, r := range cfg.Receivers {
		if !used[r.Name] {
			at(fmt.Sprintf("receivers[%d].name", i), Warning, "receiver %q is not used by any route: its events go nowhere", r.Name)
		}
	}
	for i, r := range cfg.Receivers {
		if r.OpenSearch != nil && !r.OpenSearch.DeDot {
			at(fmt.Sprintf("receivers[%d].opensearch", i), Warning, "receiver %q: deDot is off: label keys such as app and app.kubernetes.io/name on one object make OpenSearch reject the document in an index mapped dynamically (set deDot: true)", r.Name)
		}
	}
	return values, cfg, out
}

// scenarioFindings loads the scenario as run does: its problems (the
// cross-checks of checks.yaml against what the phases create included)
// are errors, its warnings warnings; with a cluster, every phase is also
// dry-run server-side.
func scenarioFindings(ctx context.Context, dir, checksFile string, cluster *rest.Config, opts ...scenario.LoadOption) (*scenario.Scenario, []Finding) {
	if checksFile == "" {
		checksFile = filepath.Join(dir, scenario.ChecksFile)
	}
	s, err := scenario.LoadDir(dir, opts...)
	var ps scenario.Problems
	switch {
	case errors.As(err, &ps):
		return nil, problemFindings(ps, Error)
	case err != nil:
		return nil, []Finding{located(checksFile, err)}
	}
	out := problemFindings(s.Warnings, Warning)
	if cluster == nil {
		return s, out
	}
	for _, p := range s.Checks.Phases {
		a, err := manifest.NewApplier(cluster)
		if err == nil {
			err = a.DryRun(ctx, s.Objects[p.Name])
		}
		if err != nil {
			out = append(out, Finding{File: path.Join(dir, p.Apply, "kustomization.yaml"), Severity: Error,
				Message: fmt.Sprintf("server-side dry-run of phase %s: %v", p.Name, err)})
		}
	}
	return s, out
}

func problemFindings(ps scenario.Problems, severity string) []Finding {
	out := make([]Finding, len(ps))
	for i, p := range ps {
		out[i] = Finding{File: p.File, Line: p.Line, Column: p.Column, Severity: severity, Message: p.Path + ": " + p.Message}
	}
	return out
}

// dashboards lints a saved-objects export: the dashboard id names, or
// without one every visualization and search in it.
func dashboards(file, id string, cfg *config.Config) []Finding {
	f, err := dashboard.Load(file)
	if err != nil {
		return []Finding{fromDashboard(file, err)}
	}
	l := dashboardLint{file: file, indices: exporterIndices(cfg), fields: DocumentFields()}
	if id == "" {
		return l.export(f, cfg)
	}
	d, err := f.Dashboard(id)
	if err != nil {
		return []Finding{fromDashboard(file, err)}
	}
	return l.dashboard(d)
}

// dashboardLint is what every object of a dashboards export is checked
// against: the indices the exporter writes and the fields of its
// documents.
type dashboardLint struct {
	file    string
	indices []string
	fields  fieldSet
}

// dashboard checks each panel of the one dashboard named: it must be of a
// kind eventcheck run checks, read an index the exporter writes, and read
// only fields the exporter's documents have.
func (l dashboardLint) dashboard(d *dashboard.Dashboard) []Finding {
	var out []Finding
	for _, p := range d.Panels {
		if !p.Supported {
			out = append(out, Finding{File: l.file, Line: p.Line, Severity: Warning, Message: fmt.Sprintf("%s: panel kind %q is not checked by eventcheck run", p.Title, p.Kind)})
		}
		if !matchesAny(p.Index.Title, l.indices) {
			out = append(out, Finding{File: l.file, Line: p.Line, Severity: Error,
				Message: fmt.Sprintf("%s: index pattern %q matches none of the exporter's indices %v", p.Title, p.Index.Title, l.indices)})
		}
		out = append(out, l.unknownFields(p.Line, p.Title, p)...)
	}
	return out
}

// export checks every visualization and search of the whole export.
//
// An export holds the dashboards of several pipelines (events, pod
// logs, control-plane logs): only the objects that read what this
// exporter writes are its business. An object that reads the events'
// fields from another index is the events dashboard pointed wrong.
func (l dashboardLint) export(f *dashboard.File, cfg *config.Config) []Finding {
	var out []Finding
	var others otherPatterns
	checked := 0
	for _, o := range f.Order {
		if o.Type == "dashboard" {
			// A panel of a missing visualization: run refuses it.
			for _, err := range f.MissingPanels(o) {
				out = append(out, fromDashboard(l.file, err))
			}
			continue
		}
		if o.Type != "visualization" && o.Type != "search" {
			continue
		}
		p, err := f.PanelOf(o)
		if err != nil {
			out = append(out, fromDashboard(l.file, err))
			continue
		}
		title := o.Type + " " + p.Title
		if matchesAny(p.Index.Title, l.indices) {
			checked++
			out = append(out, l.unknownFields(o.Line, title, p)...)
			continue
		}
		if readsEventFields(p, l.fields) {
			out = append(out, Finding{File: l.file, Line: o.Line, Severity: Error,
				Message: fmt.Sprintf("%s: reads event fields from index pattern %q, which this exporter does not write (it writes %v)", title, p.Index.Title, l.indices)})
			continue
		}
		others.add(p.Index.Title, o.Line)
	}
	out = append(out, others.findings(l.file, l.indices)...)
	if checked == 0 && cfg != nil {
		out = append(out, Finding{File: l.file, Severity: Warning,
			Message: fmt.Sprintf("no visualization or search reads an index the exporter writes (%v)", l.indices)})
	}
	return out
}

// unknownFields gives one finding per object and field the exporter's
// documents lack, however often the panel reads it.
func (l dashboardLint) unknownFields(line int, title string, p dashboard.Panel) []Finding {
	var out []Finding
	seen := map[string]bool{}
	for _, field := range p.Fields() {
		if !l.fields.has(field) && !seen[field] {
			seen[field] = true
			out = append(out, Finding{File: l.file, Line: line, Severity: Error,
				Message: fmt.Sprintf("%s: field %q is not in the documents the exporter writes", title, field)})
		}
	}
	return out
}

// otherPatterns counts the objects of other pipelines by index pattern,
// in the order the patterns first appear, so each is said once.
type otherPatterns struct {
	order []string
	seen  map[string]*otherPattern
}

type otherPattern struct {
	line, objects int // line of the first object
}

func (o *otherPatterns) add(pattern string, line int) {
	if o.seen == nil {
		o.seen = map[string]*otherPattern{}
	}
	if o.seen[pattern] == nil {
		o.seen[pattern] = &otherPattern{line: line}
		o.order = append(o.order, pattern)
	}
	o.seen[pattern].objects++
}

// findings are Info: another pipeline's objects never fail lint.
func (o *otherPatterns) findings(file string, indices []string) []Finding {
	var out []Finding
	for _, pattern := range o.order {
		x := o.seen[pattern]
		out = append(out, Finding{File: file, Line: x.line, Severity: Info,
			Message: fmt.Sprintf("index pattern %q (%d objects) is not written by this exporter (it writes %v): not checked", pattern, x.objects, indices)})
	}
	return out
}

// readsEventFields is true when every field a panel reads (and it reads
// at least one) is a field of the event documents.
func readsEventFields(p dashboard.Panel, fields fieldSet) bool {
	fs := p.Fields()
	for _, f := range fs {
		if !fields.has(f) {
			return false
		}
	}
	return len(fs) > 0
}

var fileLine = regexp.MustCompile(`(?s)^[^\n]*?:(\d+): (.*)$`)

// fromDashboard turns the dashboard package's "file:N: message" errors into
// a finding at that line.
func fromDashboard(file string, err error) Finding {
	f := Finding{File: file, Severity: Error, Message: err.Error()}
	if m := fileLine.FindStringSubmatch(err.Error()); m != nil {
		f.Line, _ = strconv.Atoi(m[1])
		f.Message = m[2]
	}
	return f
}

// exporterIndices are the index names the exporter writes through its
// routed receivers (a rendered indexFormat for today), or the workshop's
// index without a config.
func exporterIndices(cfg *config.Config) []string {
	if cfg == nil {
		return []string{eventindex.Index}
	}
	var out []string
	used := cfg.Route.ReceiverNames()
	for _, r := range cfg.Receivers {
		if r.OpenSearch == nil || !used[r.Name] {
			continue // events never reach it
		}
		if r.OpenSearch.IndexFormat != "" {
			name, err := config.IndexName(r.OpenSearch.IndexFormat, time.Now())
			if err == nil {
				out = append(out, name)
			}
			continue
		}
		out = append(out, r.OpenSearch.Index)
	}
	return out
}

func matchesAny(pattern string, indices []string) bool {
	for _, alt := range strings.Split(pattern, ",") {
		re := "^" + strings.ReplaceAll(regexp.QuoteMeta(strings.TrimSpace(alt)), `\*`, ".*") + "$"
		for _, idx := range indices {
			if ok, _ := regexp.MatchString(re, idx); ok {
				return true
			}
		}
	}
	return false
}

// fieldSet holds the fields of an exporter document, as dynamic mapping
// sees them: every leaf, and .keyword for strings.
type fieldSet map[string]bool

// has allows labels and annotations (their keys vary per object).
func (s fieldSet) has(f string) bool {
	if s[f] {
		return true
	}
	for _, open := range []string{"involvedObject.labels.", "involvedObject.annotations.", "metadata.labels.", "metadata.annotations."} {
		if strings.HasPrefix(f, open) {
			return true
		}
	}
	return false
}

// DocumentFields are the fields of the documents the exporter writes,
// derived from the exporter's own mapping of a fully populated event.
func DocumentFields() fieldSet {
	now := metav1.NewTime(time.Now())
	micro := metav1.NewMicroTime(time.Now())
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "n", Namespace: "ns", UID: "u", ResourceVersion: "1", CreationTimestamp: now, Labels: map[string]string{"l": "v"}, Annotations: map[string]string{"a": "v"}},
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "p", UID: "u", APIVersion: "v1", ResourceVersion: "1", FieldPath: "spec"},
		Reason:         "r", Message: "m", Source: corev1.EventSource{Component: "c", Host: "h"},
		FirstTimestamp: now, LastTimestamp: now, Count: 1, Type: "Normal", EventTime: micro,
		Series: &corev1.EventSeries{Count: 1, LastObservedTime: micro},
		Action: "a", Related: &corev1.ObjectReference{Kind: "Node", Name: "n"}, ReportingController: "c", ReportingInstance: "i",
	}
	doc, err := document.Build(ev, document.Object{OwnerReferences: []metav1.OwnerReference{{APIVersion: "v1", Kind: "K", Name: "n", UID: "u"}}}, document.Options{ClusterName: "c"})
	if err != nil {
		return fieldSet{}
	}
	var m map[string]any
	_ = json.Unmarshal(doc.Body, &m)
	set := fieldSet{}
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		switch x := v.(type) {
		case map[string]any:
			for k, c := range x {
				walk(strings.TrimPrefix(prefix+"."+k, "."), c)
			}
		case []any:
			for _, c := range x {
				walk(prefix, c)
			}
		case string:
			set[prefix] = true
			set[prefix+".keyword"] = true
		default:
			set[prefix] = true
		}
	}
	walk("", m)
	return set
}

// routeFindings warns when the exporter's route would not send to
// OpenSearch what the scenario's checks expect: an event of the
// scenario's namespace, or one of each type and reason a check looks for.
func routeFindings(file string, values *exportervalues.Values, cfg *config.Config, s *scenario.Scenario) []Finding {
	openSearch := map[string]bool{}
	for _, r := range cfg.Receivers {
		if r.OpenSearch != nil {
			openSearch[r.Name] = true
		}
	}
	line, _ := values.Position("route")
	reaches := func(ev *corev1.Event) bool {
		for name := range exporter.Receivers(cfg.Route, ev, document.Object{}) {
			if openSearch[name] {
				return true
			}
		}
		return false
	}
	var out []Finding
	ns := s.Checks.Namespace
	if !reaches(&corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns}, Type: "Normal", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns}}) &&
		!reaches(&corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: ns}, Type: "Warning", InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: ns}}) {
		return append(out, Finding{File: file, Line: line, Severity: Warning,
			Message: fmt.Sprintf("the route sends no event of namespace %s (the scenario's) to an OpenSearch receiver: every check of the scenario would fail", ns)})
	}
	seen := map[string]bool{}
	for _, p := range s.Checks.Phases {
		for _, d := range p.Documents {
			ev := &corev1.Event{ObjectMeta: metav1.ObjectMeta{Namespace: d.Namespace}, Type: d.Type, Reason: d.Reason,
				InvolvedObject: corev1.ObjectReference{Kind: d.Kind, Name: d.NamePrefix, Namespace: d.Namespace}}
			key := d.Namespace + "/" + d.Type + "/" + d.Reason + "/" + d.Kind
			if seen[key] || reaches(ev) {
				continue
			}
			seen[key] = true
			out = append(out, Finding{File: file, Line: line, Severity: Warning,
				Message: fmt.Sprintf("the route sends no %s %s event of %s in namespace %s to an OpenSearch receiver: check %s (phase %s) would fail",
					orAny(d.Type), orAny(d.Reason), orAny(d.Kind), d.Namespace, d.Name, p.Name)})
		}
	}
	return out
}

func orAny(s string) string {
	if s == "" {
		return "(any)"
	}
	return s
}
