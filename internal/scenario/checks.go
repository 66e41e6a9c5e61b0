// Package scenario loads a scenario directory — kustomizations and a
// checks.yaml — and runs its phases: apply a kustomization, then check what
// reaches OpenSearch and what the cluster does. Nothing about a particular
// scenario is in Go: another directory of the same form works unchanged.
package scenario

import (
	"cmp"
	"fmt"
	"path"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/eventcheck/eventcheck/internal/dashboard"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/yamlpos"
)

// ChecksFile is the name of the checks in a scenario directory.
const ChecksFile = "checks.yaml"

// Checks is checks.yaml.
type Checks struct {
	APIVersion string          `yaml:"apiVersion"`
	Kind       string          `yaml:"kind"`
	Namespace  string          `yaml:"namespace"`
	Phases     []Phase         `yaml:"phases"`
	Dashboard  *DashboardCheck `yaml:"dashboard"`
	// Completeness is checked at the end of every phase unless disabled.
	Completeness Completeness `yaml:"completeness"`
	// Exporter is the content's exporter configuration that runs.
	Exporter *ExporterConfig `yaml:"exporter"`
}

// ExporterConfig names the exporter config the content ships (relative to
// checks.yaml) and the install-time overrides its page passes.
type ExporterConfig struct {
	Values string   `yaml:"values"` // an exporter config or Helm values file
	Set    []string `yaml:"set"`    // helm --set style overrides, in order
}

// Completeness: every Event the API holds for the scenario has its
// document in the index, matched by the Event's uid (exactly one when
// documents are keyed by uid). On by default for the scenario's namespace.
type Completeness struct {
	// Disabled turns the check off; its value is the reason, which the
	// run reports.
	Disabled string `yaml:"disabled"`
	// Namespaces whose events count too (the scenario's always does).
	Namespaces []string `yaml:"namespaces"`
	// ClusterScoped kinds (such as Node) whose events count too.
	ClusterScoped []string      `yaml:"clusterScoped"`
	Timeout       time.Duration `yaml:"timeout"` // default 60s
}

// DashboardCheck checks a dashboard's panels after a phase.
type DashboardCheck struct {
	File            string `yaml:"file"` // saved-objects ndjson, relative to the scenario
	ID              string `yaml:"id"`   // dashboard id or title (default: the only one)
	After           string `yaml:"after"`
	WarningsAtLeast int    `yaml:"warningsAtLeast"`
	// Types the histogram and the type pie must both show (default
	// Warning and Normal); Interval is the histogram's (default 30s).
	Types    []string `yaml:"types"`
	Interval string   `yaml:"interval"`
	// Rows the events table must show (default: the after phase's
	// Warning document checks, by reason and message).
	Rows []dashboard.Row `yaml:"rows"`
}

// Phase applies a kustomization, then checks.
type Phase struct {
	Name  string `yaml:"name"`
	Apply string `yaml:"apply"` // a directory of the scenario
	// ExpectError says the apply must fail (a page's expectError=true
	// block): the phase holds when the API refuses it.
	ExpectError bool `yaml:"expectError"`
	// Documents must appear in OpenSearch.
	Documents []DocumentCheck `yaml:"documents"`
	// Record counts documents after the phase's checks, for a later Rise.
	Record []Count `yaml:"record"`
	// Rises are counts that must go above a recorded one.
	Rises []Rise `yaml:"rises"`
	// Workloads must reach a condition.
	Workloads []Workload `yaml:"workloads"`
	// Updates: the document of a repeating event follows its count.
	Updates []UpdateCheck `yaml:"updates"`
	// Enrichment: documents carry their own object's labels.
	Enrichment []EnrichmentCheck `yaml:"enrichment"`
	// Pods: what kubectl get pods shows of a workload's pods.
	Pods []PodCheck `yaml:"pods"`
}

// PodCheck: a pod of a workload (its name is NamePrefix, a ReplicaSet hash
// and a suffix) shows Ready and Status as kubectl get pods prints them
// (0/1, ErrImagePull). It watches while the phase's other checks wait and
// ends with them: a pod's status changes with time, and what it showed
// meanwhile is what it shows. It holds when such a pod exists; Seen says
// what it showed, and whether the wanted state was among it.
type PodCheck struct {
	Name       string        `yaml:"name"`
	Namespace  string        `yaml:"namespace"` // default: the scenario's
	NamePrefix string        `yaml:"namePrefix"`
	Ready      string        `yaml:"ready"`  // READY, such as 0/1; "" is any
	Status     string        `yaml:"status"` // STATUS, such as Running; "" is any
	Timeout    time.Duration `yaml:"timeout"`
	// Settle is how long it may watch on after the stage's other checks
	// have ended (a page block's wait=); default 5s.
	Settle time.Duration `yaml:"settle"`
}

// UpdateCheck: an Event the API holds with count ≥ 2 (the recorder bumps
// count and lastTimestamp of a repeating event) has a document whose count
// reaches the Event's, within the timeout. An exporter that ignores
// updates keeps count 1.
type UpdateCheck struct {
	Name       string        `yaml:"name"`
	Reason     string        `yaml:"reason"`
	Kind       string        `yaml:"kind"`
	NamePrefix string        `yaml:"namePrefix"`
	Namespace  string        `yaml:"namespace"` // default: the scenario's
	Timeout    time.Duration `yaml:"timeout"`   // default 60s
}

// EnrichmentCheck: the documents about objects of a kind (and name
// prefix) carry in involvedObject.labels the labels their own object has
// in the API (compared with dots as underscores, for deDot).
type EnrichmentCheck struct {
	Name       string        `yaml:"name"`
	Kind       string        `yaml:"kind"`
	NamePrefix string        `yaml:"namePrefix"`
	Namespace  string        `yaml:"namespace"` // default: the scenario's
	Timeout    time.Duration `yaml:"timeout"`   // default 60s
}

// DocumentCheck looks for event documents.
type DocumentCheck struct {
	Name          string        `yaml:"name"`
	Type          string        `yaml:"type"`
	Reason        string        `yaml:"reason"`
	Kind          string        `yaml:"kind"`
	NamePrefix    string        `yaml:"namePrefix"`
	Namespace     string        `yaml:"namespace"` // default: the scenario's
	Message       string        `yaml:"message"`   // case-insensitive substring
	MessageRegexp string        `yaml:"messageRegexp"`
	AtLeast       int           `yaml:"atLeast"` // default 1
	Timeout       time.Duration `yaml:"timeout"` // default 60s
	// VisibleOn is the dashboard's time field: the document must carry it
	// within the run's window (default lastTimestamp).
	VisibleOn string `yaml:"visibleOn"`
}

// Count names a number of documents (of a type, optionally of objects
// with a name prefix) in the scenario's namespace.
type Count struct {
	Name       string `yaml:"name"`
	Type       string `yaml:"type"`
	NamePrefix string `yaml:"namePrefix"`
}

// Rise is a count that must go strictly above a recorded one.
type Rise struct {
	Name       string        `yaml:"name"`
	Type       string        `yaml:"type"`
	NamePrefix string        `yaml:"namePrefix"`
	Above      string        `yaml:"above"`
	Timeout    time.Duration `yaml:"timeout"`
}

// Workload must reach a status condition (e.g. a Deployment Available).
type Workload struct {
	Kind      string        `yaml:"kind"`
	Name      string        `yaml:"name"`
	Condition string        `yaml:"condition"`
	Timeout   time.Duration `yaml:"timeout"`
}

// Scenario is a loaded, validated scenario directory.
type Scenario struct {
	Name   string
	FS     filesys.FileSystem
	Dir    string
	Checks Checks
	// Rendered objects of each phase, by phase name.
	Objects map[string][]*unstructured.Unstructured
	// Dashboard to check, if checks.yaml names one.
	Dashboard *dashboard.Dashboard
	// ChecksFile is where the checks were read.
	ChecksFile string
	// ExporterValues is the path of checks.yaml's exporter.values, made
	// absolute ("" when it names none).
	ExporterValues string
	// Warnings are what lint warns of and run says before it starts: a
	// check that looks in a namespace no phase uses.
	Warnings Problems
	root     *yaml.Node
}

// ExporterInputs is the exporter config a run of the scenario runs and
// the overrides applied to it, in order: file (--exporter-config), else
// checks.yaml's exporter.values; checks.yaml's exporter.set, then set
// (--set). run and lint both take them from here.
func (s *Scenario) ExporterInputs(file string, set []string) (string, []string) {
	if e := s.Checks.Exporter; e != nil {
		set = append(slices.Clone(e.Set), set...)
		if file == "" {
			file = s.ExporterValues
		}
	}
	return file, set
}

// Position is where a field of the checks (phases[0].workloads[1].name)
// is in ChecksFile.
func (s *Scenario) Position(path string) (line, col int) {
	return yamlpos.Find(s.root, path)
}

// histogramInterval is a fixed interval OpenSearch's date histogram takes.
var histogramInterval = regexp.MustCompile(`^[1-9][0-9]*(ms|s|m|h|d)$`)

// validation collects the problems of one checks.yaml, each at its field.
type validation struct {
	file  string
	root  *yaml.Node
	ps    Problems
	names map[string]string // kind/name → where first used
	// recorded is every count recorded so far, for the rises after it.
	recorded map[string]bool
}

func (v *validation) bad(where, format string, args ...any) {
	line, col := yamlpos.Find(v.root, where)
	v.ps = append(v.ps, Problem{File: v.file, Line: line, Column: col, Path: where, Message: fmt.Sprintf(format, args...)})
}

// eventType wants an event type as the API writes it: Normal or Warning,
// with that case (the index holds "Warning"; "warning" matches nothing).
func (v *validation) eventType(where, t string) {
	if t == "" || t == "Normal" || t == "Warning" {
		return
	}
	for _, want := range []string{"Normal", "Warning"} {
		if strings.EqualFold(t, want) {
			v.bad(where, "%q: event types are Normal and Warning, and case matters (did you mean %s?)", t, want)
			return
		}
	}
	v.bad(where, "%q: event types are Normal and Warning", t)
}

// timeout fills a default; a negative duration would make a check give up
// before it looks.
func (v *validation) timeout(where string, d *time.Duration, def time.Duration) {
	switch {
	case *d < 0:
		v.bad(where, "%s is negative: give a positive duration such as %s, or leave it out for the default", *d, def)
	case *d == 0:
		*d = def
	}
}

// unique: check names select assessments (go test -assess) and name
// report rows, so two alike would be one.
func (v *validation) unique(where, kind, name string) {
	if first, ok := v.names[kind+"/"+name]; ok {
		v.bad(where, "%s %q is used twice (first at %s): give each its own name", kind, name, first)
		return
	}
	v.names[kind+"/"+name] = where
}

// validate checks what decoding cannot and fills defaults; every problem
// names the file, line and field.
func (c *Checks) validate(file string, root *yaml.Node, o loadOptions) error {
	v := &validation{file: file, root: root, names: map[string]string{}, recorded: map[string]bool{}}
	if c.APIVersion != "eventcheck.dev/v1" || c.Kind != "Checks" {
		v.bad("apiVersion", "want apiVersion: eventcheck.dev/v1 and kind: Checks")
	}
	if c.Namespace == "" {
		v.bad("namespace", "the namespace the scenario creates is required")
	}
	if len(c.Phases) == 0 {
		v.bad("phases", "at least one phase is required")
	}
	for i := range c.Phases {
		c.Phases[i].validate(v, fmt.Sprintf("phases[%d]", i), c.Namespace, o)
	}
	c.Completeness.validate(v)
	if d := c.Dashboard; d != nil {
		d.validate(v, c.Phases)
	}
	if len(v.ps) == 0 {
		return nil
	}
	slices.SortStableFunc(v.ps, func(a, b Problem) int { return a.Line - b.Line })
	return v.ps
}

func (p *Phase) validate(v *validation, where, namespace string, o loadOptions) {
	if p.Name == "" {
		v.bad(where+".name", "required")
	} else {
		v.unique(where+".name", "phase", p.Name)
	}
	switch clean := path.Clean(p.Apply); {
	case p.Apply == "":
		v.bad(where+".apply", "required: a kustomization directory of the scenario")
	case !o.allowOutside && (path.IsAbs(p.Apply) || clean == ".." || strings.HasPrefix(clean, "../")):
		v.bad(where+".apply", "%q is outside the scenario directory: keep the kustomizations inside it, or allow it with --allow-outside-scenario", p.Apply)
	}
	for j := range p.Documents {
		p.Documents[j].validate(v, fmt.Sprintf("%s.documents[%d]", where, j), namespace)
	}
	for j := range p.Updates {
		p.Updates[j].validate(v, fmt.Sprintf("%s.updates[%d]", where, j), namespace)
	}
	for j := range p.Enrichment {
		p.Enrichment[j].validate(v, fmt.Sprintf("%s.enrichment[%d]", where, j), namespace)
	}
	// A phase's rises compare with counts of earlier phases only.
	for j := range p.Rises {
		p.Rises[j].validate(v, fmt.Sprintf("%s.rises[%d]", where, j))
	}
	for j, r := range p.Record {
		v.eventType(fmt.Sprintf("%s.record[%d].type", where, j), r.Type)
		w := fmt.Sprintf("%s.record[%d].name", where, j)
		if v.recorded[r.Name] {
			v.bad(w, "%q is recorded twice", r.Name)
		}
		v.recorded[r.Name] = true
	}
	for j := range p.Workloads {
		p.Workloads[j].validate(v, fmt.Sprintf("%s.workloads[%d]", where, j))
	}
	for j := range p.Pods {
		p.Pods[j].validate(v, fmt.Sprintf("%s.pods[%d]", where, j), namespace)
	}
}

func (pc *PodCheck) validate(v *validation, w, namespace string) {
	if pc.Name == "" {
		v.bad(w+".name", "required")
	} else {
		v.unique(w+".name", "check", pc.Name)
	}
	if pc.NamePrefix == "" {
		v.bad(w+".namePrefix", "required: the workload whose pods are looked at (scenario-a for scenario-a-6d988b8d84-x7k2p)")
	}
	if pc.Ready != "" && !readyCell.MatchString(pc.Ready) {
		v.bad(w+".ready", "%q is not a READY cell: give ready/total containers, such as 0/1", pc.Ready)
	}
	v.timeout(w+".timeout", &pc.Timeout, 2*time.Minute)
	v.timeout(w+".settle", &pc.Settle, 5*time.Second)
	pc.Namespace = cmp.Or(pc.Namespace, namespace)
}

var readyCell = regexp.MustCompile(`^[0-9]+/[0-9]+$`)

func (d *DocumentCheck) validate(v *validation, w, namespace string) {
	if d.Name == "" {
		v.bad(w+".name", "required")
	} else {
		v.unique(w+".name", "check", d.Name)
	}
	v.eventType(w+".type", d.Type)
	if d.MessageRegexp != "" {
		if _, err := regexp.Compile(d.MessageRegexp); err != nil {
			v.bad(w+".messageRegexp", "%v", err)
		}
	}
	if d.AtLeast < 0 {
		v.bad(w+".atLeast", "%d is negative", d.AtLeast)
	}
	if d.AtLeast == 0 {
		d.AtLeast = 1
	}
	v.timeout(w+".timeout", &d.Timeout, 60*time.Second)
	d.Namespace = cmp.Or(d.Namespace, namespace)
	switch d.VisibleOn {
	case "":
		d.VisibleOn = eventindex.TimeField
	case "lastTimestamp", "firstTimestamp", "eventTime":
	default:
		v.bad(w+".visibleOn", "%q: want lastTimestamp, firstTimestamp or eventTime (the dashboard's time field)", d.VisibleOn)
	}
}

func (u *UpdateCheck) validate(v *validation, w, namespace string) {
	v.unique(w+".name", "check", u.Name)
	if u.Reason == "" {
		v.bad(w+".reason", "required: the reason of the repeating event")
	}
	v.timeout(w+".timeout", &u.Timeout, 60*time.Second)
	u.Namespace = cmp.Or(u.Namespace, namespace)
}

func (e *EnrichmentCheck) validate(v *validation, w, namespace string) {
	v.unique(w+".name", "check", e.Name)
	if e.Kind == "" {
		v.bad(w+".kind", "required: the kind of the objects whose documents are compared")
	}
	v.timeout(w+".timeout", &e.Timeout, 60*time.Second)
	e.Namespace = cmp.Or(e.Namespace, namespace)
}

func (r *Rise) validate(v *validation, w string) {
	v.unique(w+".name", "check", r.Name)
	v.eventType(w+".type", r.Type)
	if !v.recorded[r.Above] {
		v.bad(w+".above", "%q is not recorded in an earlier phase", r.Above)
	}
	v.timeout(w+".timeout", &r.Timeout, 60*time.Second)
}

func (wl *Workload) validate(v *validation, w string) {
	if wl.Kind == "" || wl.Name == "" || wl.Condition == "" {
		v.bad(w, "kind, name and condition are required")
	}
	v.timeout(w+".timeout", &wl.Timeout, 2*time.Minute)
}

func (c *Completeness) validate(v *validation) {
	if reason := strings.ToLower(strings.TrimSpace(c.Disabled)); slices.Contains([]string{"true", "yes", "on", "false", "no", "off"}, reason) {
		v.bad("completeness.disabled", "takes the reason the check is off (it is reported), not %q", c.Disabled)
	}
	v.timeout("completeness.timeout", &c.Timeout, 60*time.Second)
}

func (d *DashboardCheck) validate(v *validation, phases []Phase) {
	if d.File == "" {
		v.bad("dashboard.file", "required: a saved-objects ndjson export")
	}
	if !slices.ContainsFunc(phases, func(p Phase) bool { return p.Name == d.After }) {
		v.bad("dashboard.after", "%q is not a phase", d.After)
	}
	if d.Interval != "" && !histogramInterval.MatchString(d.Interval) {
		v.bad("dashboard.interval", "%q is not a histogram interval: give a number and a unit such as 30s, 1m or 1h", d.Interval)
	}
	for i, t := range d.Types {
		v.eventType(fmt.Sprintf("dashboard.types[%d]", i), t)
	}
	for i, row := range d.Rows {
		if row.Reason == "" {
			v.bad(fmt.Sprintf("dashboard.rows[%d].reason", i), "required: the reason the events table must show")
		}
	}
}

// Match is the index query of a document check; since bounds the time.
func (d DocumentCheck) Match(since time.Time) eventindex.Match {
	m := eventindex.Match{Type: d.Type, Reason: d.Reason, Kind: d.Kind, NamePrefix: d.NamePrefix,
		Namespace: d.Namespace, Message: d.Message, Since: since, TimeField: d.VisibleOn}
	if d.MessageRegexp != "" {
		m.MessageRegexp = regexp.MustCompile(d.MessageRegexp)
	}
	return m
}
