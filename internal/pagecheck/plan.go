// Package pagecheck runs the story a workshop page tells: it turns the
// page's derived story (internal/page) into a scenario plan — a
// checks.yaml no one has to write — and, after the run, gives each of the
// page's claims its verdict against what the run showed.
package pagecheck

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/eventcheck/eventcheck/exporter/config"
	"github.com/eventcheck/eventcheck/internal/dashboard"
	"github.com/eventcheck/eventcheck/internal/exporters"
	"github.com/eventcheck/eventcheck/internal/exportervalues"
	"github.com/eventcheck/eventcheck/internal/page"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// maxPage bounds a page file: a Docusaurus page is a few kilobytes.
const maxPage = 4 << 20

// Derived is the story of one or more pages (an original and its
// translations) as a run takes it.
type Derived struct {
	// Story is the original's (the page under website/docs, else the
	// first given); Translations are the others.
	Story        *page.Story
	Translations []*page.Story
	// Differences are the claims a translation lacks, adds or changes.
	Differences []page.Difference
	// Checks is the plan as checks.yaml, relative to Manifests.
	Checks    []byte
	Manifests string
	// Steps maps each claim's key to the step that judges it.
	Steps map[string]string
	// Values is the exporter config the page installs, without the keys
	// the exporter does not know (Unknown): the page's exporter ignores
	// them, and so does the run, which says so.
	Values  *exportervalues.Values
	Unknown []config.Problem
	doc     checksDoc
	// overrides is the checks.yaml merged into the plan (Override).
	overrides     map[string]any
	overridesFile string
}

// Load reads and derives pages against the manifests directory (the
// learner's ~/environment/eks-workshop); dashboards, when set, is the
// export the page's dashboard link must be in.
func Load(files []string, manifests, dashboards string) (*Derived, error) {
	if len(files) == 0 {
		return nil, errors.New("no page given: name the workshop page (website/docs/.../PAGE.md) and its translations")
	}
	var stories []*page.Story
	for _, f := range files {
		s, err := derive(f, manifests)
		if err != nil {
			return nil, err
		}
		stories = append(stories, s)
	}
	orig := slices.IndexFunc(stories, func(s *page.Story) bool { return s.Lang == "" })
	d := &Derived{Story: stories[max(orig, 0)], Manifests: manifests, Steps: map[string]string{}}
	for i, s := range stories {
		if i != max(orig, 0) {
			d.Translations = append(d.Translations, s)
		}
	}
	d.Differences = page.CompareTranslations(d.Story, d.Translations...)
	if err := d.plan(dashboards); err != nil {
		return nil, err
	}
	return d, nil
}

func derive(file, manifests string) (*page.Story, error) {
	st, err := os.Stat(file)
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", file, err)
	}
	if !st.Mode().IsRegular() || st.Size() > maxPage {
		return nil, fmt.Errorf("page %s: not a regular file of at most %d bytes", file, maxPage)
	}
	src, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("page %s: %w", file, err)
	}
	p, err := page.Parse(file, src)
	if err != nil {
		return nil, err
	}
	return page.Derive(p, manifests)
}

// checksDoc is checks.yaml as the plan writes it: durations as text.
type checksDoc struct {
	APIVersion string       `yaml:"apiVersion"`
	Kind       string       `yaml:"kind"`
	Namespace  string       `yaml:"namespace"`
	Phases     []phaseDoc   `yaml:"phases"`
	Dashboard  *dashDoc     `yaml:"dashboard,omitempty"`
	Exporter   *exporterDoc `yaml:"exporter,omitempty"`
}

type phaseDoc struct {
	Name  string `yaml:"name"`
	Apply string `yaml:"apply"`
	// ExpectError: the page's block expects the apply to fail.
	ExpectError bool       `yaml:"expectError,omitempty"`
	Documents   []docCheck `yaml:"documents,omitempty"`
	Record      []count    `yaml:"record,omitempty"`
	Rises       []rise     `yaml:"rises,omitempty"`
	Pods        []podCheck `yaml:"pods,omitempty"`
}

type podCheck struct {
	Name       string `yaml:"name"`
	Namespace  string `yaml:"namespace,omitempty"`
	NamePrefix string `yaml:"namePrefix"`
	Ready      string `yaml:"ready,omitempty"`
	Status     string `yaml:"status,omitempty"`
	Timeout    string `yaml:"timeout"`
	Settle     string `yaml:"settle,omitempty"`
}

type docCheck struct {
	Name       string `yaml:"name"`
	Type       string `yaml:"type,omitempty"`
	Reason     string `yaml:"reason"`
	Kind       string `yaml:"kind,omitempty"`
	NamePrefix string `yaml:"namePrefix,omitempty"`
	Namespace  string `yaml:"namespace,omitempty"`
	Timeout    string `yaml:"timeout"`
}

type count struct {
	Name string `yaml:"name"`
	Type string `yaml:"type"`
}

type rise struct {
	Name    string `yaml:"name"`
	Type    string `yaml:"type"`
	Above   string `yaml:"above"`
	Timeout string `yaml:"timeout"`
}

type dashDoc struct {
	File  string `yaml:"file"`
	ID    string `yaml:"id"`
	After string `yaml:"after"`
}

type exporterDoc struct {
	Values string   `yaml:"values,omitempty"`
	Set    []string `yaml:"set,omitempty"`
}

var unsafeName = regexp.MustCompile(`[^a-z0-9-]+`)

// stepName is a check name from a claim's subject, as the e2e suite's
// subtests and the reports show it.
func stepName(parts ...string) string {
	parts = slices.DeleteFunc(slices.Clone(parts), func(p string) bool { return p == "" })
	return strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(strings.Join(parts, "-")), "-"), "-")
}

func (d *Derived) plan(dashboards string) error {
	s := d.Story
	if len(s.Phases) == 0 {
		return fmt.Errorf("page %s: no `kubectl apply -k` in a bash block that runs: a page's phases are its applies", s.File)
	}
	doc := checksDoc{APIVersion: "eventcheck.dev/v1", Kind: "Checks", Namespace: storyNamespace(s)}
	phases := map[string]*phaseDoc{}
	for _, p := range s.Phases {
		rel, err := filepath.Rel(d.Manifests, p.Dir)
		if err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("%s:%d: %s is outside --manifests %s", s.File, p.Line, p.PageDir, d.Manifests)
		}
		doc.Phases = append(doc.Phases, phaseDoc{Name: p.Name, Apply: filepath.ToSlash(rel), ExpectError: p.ExpectError})
	}
	for i := range doc.Phases {
		phases[doc.Phases[i].Name] = &doc.Phases[i]
	}
	d.claimSteps(phases, doc.Namespace)
	if link := s.Dashboard; link != nil {
		file, err := findDashboard(d.Manifests, s.Phases, link.ID, dashboards)
		if err != nil {
			return fmt.Errorf("%s:%d: dashboard %q: %w", s.File, link.Line, link.ID, err)
		}
		doc.Dashboard = &dashDoc{File: file, ID: link.ID, After: link.Phase}
	}
	err := d.exporter(&doc)
	if err != nil {
		return err
	}
	d.doc = doc
	d.Checks, err = d.encode(doc)
	return err
}

// encode is the plan as checks.yaml, with the overrides merged.
func (d *Derived) encode(doc checksDoc) ([]byte, error) {
	var b bytes.Buffer
	fmt.Fprintf(&b, "# Derived by eventcheck page from %s: what the page claims, as checks.\n", d.Story.File)
	var v any = doc
	if d.overrides != nil {
		fmt.Fprintf(&b, "# Merged with %s.\n", d.overridesFile)
		m, err := d.merged(doc)
		if err != nil {
			return nil, err
		}
		v = m
	}
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return b.Bytes(), enc.Close()
}

// storyNamespace is where the story's workloads run: the namespace of the
// first phase's first namespaced workload.
func storyNamespace(s *page.Story) string {
	for _, p := range s.Phases {
		for _, o := range p.Objects {
			if o.Namespace != "" && slices.Contains([]string{"Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod"}, o.Kind) {
				return o.Namespace
			}
		}
	}
	return cmp.Or(append(slices.Clone(s.Namespaces), "default")...)
}

// claimSteps makes a document check for each event claim (one per
// subject: several claims of one event share it) and a record and a rise
// for each rise claim.
func (d *Derived) claimSteps(phases map[string]*phaseDoc, namespace string) {
	seen := map[string]string{}
	for _, c := range d.Story.Claims {
		p := phases[c.Phase]
		if _, isPod := c.Expect.(page.PodRow); isPod && c.Phase == "" && len(d.Story.Phases) > 0 {
			// The exporter's pod, shown before any apply, is looked at
			// with the first phase: it runs by then.
			p = phases[d.Story.Phases[0].Name]
		}
		if c.Skip != "" || p == nil {
			continue
		}
		timeout := page.DefaultTimeout
		if i := slices.IndexFunc(d.Story.Phases, func(x page.Phase) bool { return x.Name == c.Phase }); i >= 0 && d.Story.Phases[i].Timeout > 0 {
			timeout = d.Story.Phases[i].Timeout
		}
		var dc docCheck
		switch e := c.Expect.(type) {
		case page.PodRow:
			d.podStep(p, c, e, namespace, timeout)
			continue
		case page.EventDocument:
			if e.Reason == "" {
				continue
			}
			dc = docCheck{Type: e.Type, Reason: e.Reason, Kind: e.ObjectKind, NamePrefix: e.ObjectPrefix, Namespace: e.Namespace}
		case page.EventRow:
			dc = docCheck{Type: e.Type, Reason: e.Reason, Kind: e.ObjectKind, NamePrefix: e.ObjectPrefix, Namespace: e.Namespace}
		case page.ProseEvent:
			if e.Reason == "" {
				continue
			}
			dc = docCheck{Reason: e.Reason, NamePrefix: e.Workload}
		case page.Rise:
			// A fix brings new Normal events, so their count must rise;
			// no document is ever removed, so "only goes up" holds for
			// the other types by construction, and a fixed story need
			// not add Warnings (see verdict).
			before := phases[e.Before]
			if before == nil || e.Type != "Normal" {
				continue
			}
			rec := stepName(strings.ToLower(e.Type), "before", c.Phase)
			if !slices.ContainsFunc(before.Record, func(x count) bool { return x.Name == rec }) {
				before.Record = append(before.Record, count{Name: rec, Type: e.Type})
			}
			name := stepName(strings.ToLower(e.Type), "rises", c.Phase)
			p.Rises = append(p.Rises, rise{Name: name, Type: e.Type, Above: rec, Timeout: timeout.String()})
			d.Steps[c.Key] = name
			continue
		default:
			continue
		}
		if dc.Namespace == namespace {
			dc.Namespace = ""
		}
		subject := c.Phase + "/" + dc.Type + "/" + dc.Reason + "/" + dc.Kind + "/" + dc.NamePrefix + "/" + dc.Namespace
		if name, ok := seen[subject]; ok {
			d.Steps[c.Key] = name
			continue
		}
		dc.Name, dc.Timeout = stepName(dc.NamePrefix, dc.Reason, dc.Type, c.Phase), timeout.String()
		for slices.ContainsFunc(p.Documents, func(x docCheck) bool { return x.Name == dc.Name }) {
			dc.Name += "-2"
		}
		seen[subject], d.Steps[c.Key] = dc.Name, dc.Name
		p.Documents = append(p.Documents, dc)
	}
}

// podStep makes a pod check for a kubectl get pods row: one per workload
// and state in a phase, which every row of them shares.
func (d *Derived) podStep(p *phaseDoc, c page.Claim, e page.PodRow, namespace string, timeout time.Duration) {
	pc := podCheck{Namespace: e.Namespace, NamePrefix: e.NamePrefix, Ready: e.Ready, Status: e.Status, Timeout: timeout.String()}
	if c.Wait > 0 {
		// The page has the learner wait that long for the state: watch
		// as long for it (it is never slept).
		pc.Settle = c.Wait.String()
	}
	if pc.Namespace == namespace {
		pc.Namespace = ""
	}
	pc.Name = stepName(e.NamePrefix, "pod", e.Status, p.Name)
	for _, x := range p.Pods {
		if x.Name == pc.Name && x.Namespace == pc.Namespace && x.Ready == pc.Ready {
			d.Steps[c.Key] = x.Name
			return
		}
	}
	for slices.ContainsFunc(p.Pods, func(x podCheck) bool { return x.Name == pc.Name }) {
		pc.Name += "-2"
	}
	d.Steps[c.Key] = pc.Name
	p.Pods = append(p.Pods, pc)
}

// findDashboard is the export holding the dashboard: the one given, else
// the first .ndjson under the module of the page's first phase that has
// it (a module keeps one export for several pipelines).
func findDashboard(manifests string, phases []page.Phase, id, given string) (string, error) {
	var candidates []string
	if given != "" {
		candidates = []string{given}
	} else {
		candidates = ndjsonFiles(moduleRoot(manifests, phases[0].Dir))
	}
	for _, f := range candidates {
		file, err := dashboard.Load(f)
		if err != nil {
			continue
		}
		if _, err := file.Dashboard(id); err == nil {
			return filepath.Abs(f)
		}
	}
	if len(candidates) == 0 {
		return "", errors.New("no dashboards export (.ndjson) in the module: give --dashboards")
	}
	return "", fmt.Errorf("not in %s: the page links a dashboard its module does not ship", strings.Join(candidates, ", "))
}

// moduleRoot is manifests/modules/<path>: the directory above the page's
// scenarios/ directory, else the phase's own directory.
func moduleRoot(manifests, dir string) string {
	for d := dir; strings.HasPrefix(d, manifests) && d != manifests; d = filepath.Dir(d) {
		if filepath.Base(d) == "scenarios" {
			return filepath.Dir(d)
		}
	}
	return dir
}

func ndjsonFiles(root string) []string {
	var out []string
	_ = filepath.WalkDir(root, func(p string, e os.DirEntry, err error) error {
		if err == nil && !e.IsDir() && strings.HasSuffix(p, ".ndjson") {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// exporter is the page's helm install as the run takes it: its values
// file and the --set lines that do not name the learner's OpenSearch
// (the environment supplies endpoint and credentials), without the keys
// the exporter does not know.
func (d *Derived) exporter(doc *checksDoc) error {
	h := d.Story.Helm
	if h == nil || len(h.Values) == 0 {
		return nil
	}
	var set []string
	for _, s := range h.Set {
		if len(s.Vars) == 0 && (s.Flag == "set" || s.Flag == "set-string") {
			set = append(set, s.Raw)
		}
	}
	v, err := exportervalues.Load(h.Values[0], set)
	if err != nil {
		return fmt.Errorf("%s:%d: helm install -f: %w", d.Story.File, h.Line, err)
	}
	d.Values, d.Unknown = v.WithoutUnknownKeys()
	values, err := filepath.Abs(h.Values[0])
	doc.Exporter = &exporterDoc{Values: values, Set: set}
	return err
}

// Scenario loads the plan as the run's scenario, from a checks.yaml
// written to dir (the plan's own file, which reports name).
//
// The exporter runs the page's values without the keys it does not know,
// written beside it: the page's exporter ignores them.
func (d *Derived) Scenario(dir string) (*scenario.Scenario, error) {
	doc := d.doc
	if d.Values != nil {
		data, err := d.Values.HelmValues()
		if err != nil {
			return nil, err
		}
		values := filepath.Join(dir, "exporter-values.yaml")
		if err := os.WriteFile(values, data, 0o600); err != nil {
			return nil, err
		}
		// The --set lines are in the values already.
		doc.Exporter = &exporterDoc{Values: values}
	}
	checks, err := d.encode(doc)
	if err != nil {
		return nil, err
	}
	file := filepath.Join(dir, "checks.yaml")
	if err := os.WriteFile(file, checks, 0o644); err != nil {
		return nil, err
	}
	s, err := scenario.LoadDir(d.Manifests, scenario.ChecksAt(file))
	if err != nil && d.overrides != nil {
		return nil, fmt.Errorf("the plan derived from %s merged with %s: %w", d.Story.File, d.overridesFile, err)
	}
	if err != nil {
		return nil, fmt.Errorf("the plan derived from %s: %w", d.Story.File, err)
	}
	return s, nil
}

// RunsExporter tells the plan which exporter the run has (an
// --exporter name): unless it is the page's chart in the cluster (helm),
// the rows the page shows of the release's pods are skipped, with why,
// instead of looked for where nothing runs them.
func (d *Derived) RunsExporter(name string) {
	if name == exporters.Helm {
		return
	}
	why := fmt.Sprintf("this run's exporter is --exporter %s, not the page's chart; --exporter helm runs the chart", name)
	h := d.Story.Helm
	if h == nil {
		return
	}
	dropped := map[string]bool{}
	for i, c := range d.Story.Claims {
		e, ok := c.Expect.(page.PodRow)
		if !ok || c.Skip != "" || e.Namespace != h.Namespace {
			continue
		}
		d.Story.Claims[i].Skip = fmt.Sprintf("the release's pod (%s): %s", h.Release, why)
		dropped[d.Steps[c.Key]] = true
		delete(d.Steps, c.Key)
	}
	for i := range d.doc.Phases {
		d.doc.Phases[i].Pods = slices.DeleteFunc(d.doc.Phases[i].Pods, func(p podCheck) bool { return dropped[p.Name] })
	}
}
