package pagecheck

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/eventcheck/eventcheck/internal/inputfile"
	"github.com/eventcheck/eventcheck/internal/page"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// Override merges a checks.yaml into the derived plan, for what the page
// does not say (workloads, updates, enrichment, completeness) or says
// otherwise. A top-level field of the file replaces the derived one;
// phases merge by name, and within a phase a step of the same name (a
// workload of the same kind, name and condition) replaces the derived
// step and any other is added; a phase the page does not apply is added
// after the derived ones. Paths in the file are relative to it, as in any
// checks.yaml. Without file, the checks.yaml beside the page's scenarios
// (the directory holding its applied directories) is merged when there is
// one.
func (d *Derived) Override(file string) error {
	if file == "" {
		file = filepath.Join(scenariosDir(d.Story.Phases), scenario.ChecksFile)
		if _, err := os.Stat(file); err != nil {
			return nil
		}
	}
	data, err := inputfile.Read("checks file", file, inputfile.Checks)
	if err != nil {
		return err
	}
	if err := scenario.CheckSyntax(file, data); err != nil {
		return err
	}
	var over map[string]any
	if err := yaml.Unmarshal(data, &over); err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	if err := d.rebase(over, file); err != nil {
		return err
	}
	d.overrides, d.overridesFile = over, file
	d.Checks, err = d.encode(d.doc)
	return err
}

// scenariosDir is the deepest directory holding every phase's directory
// (scenarios/events for scenarios/events/base and scenarios/events/fix).
func scenariosDir(phases []page.Phase) string {
	if len(phases) == 0 {
		return ""
	}
	dir := filepath.Dir(phases[0].Dir)
	for _, p := range phases[1:] {
		for !strings.HasPrefix(p.Dir+string(filepath.Separator), dir+string(filepath.Separator)) && dir != filepath.Dir(dir) {
			dir = filepath.Dir(dir)
		}
	}
	return dir
}

// rebase makes the file's paths those of the derived plan: applies
// relative to the manifests, the exporter's values and the dashboards
// export absolute.
func (d *Derived) rebase(over map[string]any, file string) error {
	dir := filepath.Dir(file)
	abs := func(p string) string {
		if filepath.IsAbs(p) {
			return p
		}
		a, err := filepath.Abs(filepath.Join(dir, p))
		if err != nil {
			return filepath.Join(dir, p)
		}
		return a
	}
	phases, _ := over["phases"].([]any)
	for i, p := range phases {
		ph, _ := p.(map[string]any)
		apply, ok := ph["apply"].(string)
		if !ok {
			continue
		}
		manifests, err := filepath.Abs(d.Manifests)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(manifests, abs(apply))
		if err != nil || strings.HasPrefix(rel, "..") {
			return fmt.Errorf("%s: phases[%d].apply: %s is outside --manifests %s", file, i, apply, d.Manifests)
		}
		ph["apply"] = filepath.ToSlash(rel)
	}
	for _, f := range [][2]string{{"exporter", "values"}, {"dashboard", "file"}} {
		if m, ok := over[f[0]].(map[string]any); ok {
			if p, ok := m[f[1]].(string); ok && p != "" {
				m[f[1]] = abs(p)
			}
		}
	}
	return nil
}

// merged is the derived document with the overrides merged in.
func (d *Derived) merged(doc checksDoc) (map[string]any, error) {
	data, err := yaml.Marshal(doc)
	if err != nil {
		return nil, err
	}
	var out map[string]any
	if err := yaml.Unmarshal(data, &out); err != nil {
		return nil, err
	}
	for k, v := range d.overrides {
		if k != "phases" {
			out[k] = v
		}
	}
	phases, _ := out["phases"].([]any)
	over, _ := d.overrides["phases"].([]any)
	for _, o := range over {
		op, _ := o.(map[string]any)
		i := slices.IndexFunc(phases, func(p any) bool { return p.(map[string]any)["name"] == op["name"] })
		if i < 0 {
			phases = append(phases, op)
			continue
		}
		mergePhase(phases[i].(map[string]any), op)
	}
	out["phases"] = phases
	return out, nil
}

// mergePhase merges a phase of the file into the derived one: lists of
// steps by step, anything else by replacement.
func mergePhase(into, from map[string]any) {
	for k, v := range from {
		steps, isList := v.([]any)
		have, hasList := into[k].([]any)
		if !isList || !hasList {
			into[k] = v
			continue
		}
		for _, s := range steps {
			i := slices.IndexFunc(have, func(h any) bool { return stepKey(h) == stepKey(s) })
			if i >= 0 {
				have[i] = s
			} else {
				have = append(have, s)
			}
		}
		into[k] = have
	}
}

// stepKey names a step in its list: its name, or a workload's kind, name
// and condition.
func stepKey(step any) string {
	m, _ := step.(map[string]any)
	if n, ok := m["name"].(string); ok && m["condition"] == nil {
		return n
	}
	return fmt.Sprint(m["kind"], "/", m["name"], " ", m["condition"])
}
