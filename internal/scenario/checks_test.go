package scenario

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck"
)

func TestBuiltInScenarioLoads(t *testing.T) {
	for name, load := range map[string]func() (*Scenario, error){
		"embedded": func() (*Scenario, error) { return LoadFS(eventcheck.Content, eventcheck.DefaultScenario) },
		"on disk":  func() (*Scenario, error) { return LoadDir("../../scenarios/events") },
	} {
		t.Run(name, func(t *testing.T) {
			s, err := load()
			if err != nil {
				t.Fatal(err)
			}
			if ph := s.Checks.Phases; len(ph) != 2 || ph[0].Name != "broken" || ph[1].Name != "fixed" {
				t.Fatalf("phases %+v", s.Checks.Phases)
			}
			broken := s.Objects["broken"]
			kinds := map[string]int{}
			for _, o := range broken {
				kinds[o.GetKind()]++
				if o.GetKind() != "Namespace" && o.GetNamespace() != "test" {
					t.Errorf("%s %s in namespace %q", o.GetKind(), o.GetName(), o.GetNamespace())
				}
				if o.GetLabels()["app.kubernetes.io/created-by"] != "eks-workshop" {
					t.Errorf("%s %s lacks the created-by label", o.GetKind(), o.GetName())
				}
			}
			if kinds["Deployment"] != 3 || kinds["Namespace"] != 1 || kinds["Secret"] != 1 {
				t.Fatalf("broken phase creates %v", kinds)
			}
			// The fix overlay patches exactly what the workshop fixes.
			for _, o := range s.Objects["fixed"] {
				if o.GetKind() != "Deployment" {
					continue
				}
				spec := o.Object["spec"].(map[string]any)["template"].(map[string]any)["spec"].(map[string]any)
				c := spec["containers"].([]any)[0].(map[string]any)
				switch o.GetName() {
				case "scenario-a":
					if spec["volumes"].([]any)[0].(map[string]any)["secret"].(map[string]any)["secretName"] != "some-secret" {
						t.Error("scenario-a not fixed")
					}
				case "scenario-b":
					if c["image"] != "nginx" {
						t.Error("scenario-b not fixed")
					}
				case "scenario-c":
					if c["resources"].(map[string]any)["requests"].(map[string]any)["cpu"] != "100m" {
						t.Error("scenario-c not fixed")
					}
				}
			}
			d := s.Checks.Phases[0].Documents[2]
			if d.Namespace != "test" || d.AtLeast != 1 || d.Timeout != 60*time.Second || d.Match(time.Now()).MessageRegexp == nil {
				t.Fatalf("defaults not applied: %+v", d)
			}
		})
	}
}

func writeScenario(t *testing.T, checks string) string {
	t.Helper()
	dir := t.TempDir()
	writeTree(t, dir, map[string]string{
		"only/kustomization.yaml": "resources: [cm.yaml]\nnamespace: other\n",
		"only/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\ndata: {a: b}\n",
		"checks.yaml":             checks,
	})
	return dir
}

// Another directory of the same form works with no code change.
func TestAnotherScenarioOfTheSameForm(t *testing.T) {
	dir := writeScenario(t, `apiVersion: eventcheck.dev/v1
kind: Checks
namespace: other
phases:
  - name: only
    apply: only
    documents:
      - {name: anything, type: Normal}
`)
	s, err := LoadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Objects["only"]) != 1 || s.Objects["only"][0].GetNamespace() != "other" {
		t.Fatalf("objects %v", s.Objects)
	}
}

func TestBadScenariosSayWhat(t *testing.T) {
	for _, tc := range []struct {
		name   string
		checks string
		want   []string
	}{
		{"unknown field", "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: x\nphases:\n  - name: a\n    apply: only\n    documnts: []\n", []string{"checks.yaml", "line 7", "documnts"}},
		{"kustomization fails to render", "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: x\nphases:\n  - {name: a, apply: missing}\n", []string{"phase a", "does not render", "missing"}},
		{"rise above nothing", "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: x\nphases:\n  - name: a\n    apply: only\n    rises: [{name: r, type: Normal, above: never}]\n", []string{"never", "not recorded"}},
		{"bad regexp", "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: x\nphases:\n  - name: a\n    apply: only\n    documents: [{name: d, messageRegexp: '('}]\n", []string{"messageRegexp", "missing closing"}},
		{"wrong kind", "apiVersion: v1\nkind: Pod\n", []string{"eventcheck.dev/v1"}},
		{"completeness off without a reason", "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: x\ncompleteness: {disabled: true}\nphases:\n  - {name: a, apply: only}\n", []string{"completeness.disabled", "the reason"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadDir(writeScenario(t, tc.checks))
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error should contain %q:\n%v", w, err)
				}
			}
		})
	}
	if _, err := LoadDir("/nonexistent/scenario"); err == nil || !strings.Contains(err.Error(), "/nonexistent/scenario") {
		t.Fatalf("missing dir error = %v", err)
	}
}

// What would only show up once the environment is up is refused when the
// file loads, with the file, line and column of the field.
func TestChecksRefusedWithFileAndLine(t *testing.T) {
	const head = "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: x\nphases:\n"
	for _, tc := range []struct {
		name, checks string
		want         Problem
	}{
		{"negative timeout", head + "  - name: a\n    apply: only\n    documents:\n      - name: d\n        timeout: -5s\n",
			Problem{Line: 9, Column: 18, Path: "phases[0].documents[0].timeout", Message: "-5s is negative"}},
		{"two checks of one name", head + "  - name: a\n    apply: only\n    documents:\n      - {name: same, type: Normal}\n      - {name: same, type: Warning}\n",
			Problem{Line: 9, Column: 16, Path: "phases[0].documents[1].name", Message: `check "same" is used twice (first at phases[0].documents[0].name)`}},
		{"apply outside the scenario", head + "  - name: a\n    apply: ../../../../etc\n",
			Problem{Line: 6, Column: 12, Path: "phases[0].apply", Message: `"../../../../etc" is outside the scenario directory`}},
		{"absolute apply", head + "  - name: a\n    apply: /etc\n",
			Problem{Line: 6, Column: 12, Path: "phases[0].apply", Message: "outside the scenario directory"}},
		{"histogram interval in words", head + "  - name: a\n    apply: only\ndashboard:\n  file: d.ndjson\n  after: a\n  interval: 30 seconds\n",
			Problem{Line: 10, Column: 13, Path: "dashboard.interval", Message: `"30 seconds" is not a histogram interval`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeScenario(t, tc.checks)
			_, err := LoadDir(dir)
			var ps Problems
			if !errors.As(err, &ps) || len(ps) != 1 {
				t.Fatalf("want one problem, got %v", err)
			}
			p := ps[0]
			if p.File != filepath.Join(dir, ChecksFile) || p.Line != tc.want.Line || p.Column != tc.want.Column || p.Path != tc.want.Path || !strings.Contains(p.Message, tc.want.Message) {
				t.Fatalf("got %+v\nwant %+v", p, tc.want)
			}
		})
	}

	// A layout that keeps its manifests beside the checks may opt in.
	parent := t.TempDir()
	dir := filepath.Join(parent, "checks")
	writeTree(t, parent, map[string]string{
		"manifests/kustomization.yaml": "resources: [cm.yaml]\nnamespace: x\n",
		"manifests/cm.yaml":            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"checks/checks.yaml":           head + "  - name: a\n    apply: ../manifests\n",
	})
	if _, err := LoadDir(dir); err == nil || !strings.Contains(err.Error(), "--allow-outside-scenario") {
		t.Fatalf("outside without the option: %v", err)
	}
	if s, err := LoadDir(dir, AllowOutside(true)); err != nil || len(s.Objects["a"]) != 1 {
		t.Fatalf("outside with the option: %v", err)
	}
}

func writeTree(t *testing.T, dir string, files map[string]string) {
	t.Helper()
	for name, body := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// A file that is not a checks.yaml says so, and never quotes its content:
// a password file passed as --checks by mistake must not be echoed.
func TestNotAChecksFileSaysSoWithoutItsContent(t *testing.T) {
	const head = "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: other\nphases:\n  - {name: a, apply: only}\n"
	for _, tc := range []struct {
		name, checks string
		want         []string
	}{
		{"empty", "", []string{"checks.yaml is empty"}},
		{"comments only", "# nothing yet\n", []string{"checks.yaml is empty"}},
		{"a password", "hunter2-secret\n", []string{"checks.yaml:1: not a checks.yaml"}},
		{"a list", "- hunter2-secret\n", []string{"not a checks.yaml", "a list"}},
		{"YAML that does not parse", "a: b\n c: 'hunter2-secret\n", []string{"not a checks.yaml", "line"}},
		{"a second document", head + "---\napiVersion: eventcheck.dev/v1\n", []string{"checks.yaml:6: a second YAML document"}},
		{"a type error", head + "completeness: {timeout: hunter2-secret}\n", []string{"checks.yaml", "line 6"}},
		{"more than 1 MiB", head + strings.Repeat("# padding\n", 120000), []string{"larger than 1 MiB"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := LoadDir(writeScenario(t, tc.checks))
			if err == nil {
				t.Fatal("loaded")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error should contain %q:\n%v", w, err)
				}
			}
			if strings.Contains(err.Error(), "hunter2") || strings.Contains(err.Error(), "EOF") {
				t.Errorf("error quotes the file or says EOF:\n%v", err)
			}
		})
	}
	dir := writeScenario(t, head)
	if _, err := LoadDir(filepath.Join(dir, ChecksFile)); err == nil || !strings.Contains(err.Error(), "is a file, not a directory") {
		t.Errorf("a file as the scenario directory: %v", err)
	}
	missing := filepath.Join(dir, "nope.yaml")
	if _, err := LoadDir(dir, ChecksAt(missing)); err == nil || !strings.Contains(err.Error(), "checks file "+missing+" does not exist") {
		t.Errorf("a missing --checks file: %v", err)
	}
}

// The built-in scenario's files are named as such, not by an embedded
// path that is on no disk.
func TestBuiltInFilesAreNamedAsBuiltIn(t *testing.T) {
	s, err := LoadFS(eventcheck.Content, eventcheck.DefaultScenario)
	if err != nil {
		t.Fatal(err)
	}
	if s.ChecksFile != "built-in scenario events, checks.yaml" {
		t.Errorf("ChecksFile %q", s.ChecksFile)
	}
}

// apply: is checked on resolved paths: a symlink pointing out of the
// scenario, or a kustomization reaching ../../outside, is refused unless
// allowed.
func TestApplyStaysInsideOnceResolved(t *testing.T) {
	const checks = "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: other\nphases:\n  - name: a\n    apply: only\n"
	parent := t.TempDir()
	writeTree(t, parent, map[string]string{
		"outside/kustomization.yaml":     "resources: [cm.yaml]\nnamespace: other\n",
		"outside/cm.yaml":                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n",
		"link/checks.yaml":               checks,
		"dotdot/checks.yaml":             checks,
		"dotdot/only/kustomization.yaml": "resources: [../../outside]\n",
	})
	if err := os.Symlink(filepath.Join(parent, "outside"), filepath.Join(parent, "link", "only")); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"link", "dotdot"} {
		dir := filepath.Join(parent, name)
		_, err := LoadDir(dir)
		var ps Problems
		if !errors.As(err, &ps) || len(ps) != 1 || ps[0].Path != "phases[0].apply" || ps[0].Line != 6 ||
			!strings.Contains(ps[0].Message, "outside the scenario directory") || !strings.Contains(ps[0].Message, "--allow-outside-scenario") {
			t.Errorf("%s: %v", name, err)
		}
		if s, err := LoadDir(dir, AllowOutside(true)); err != nil || len(s.Objects["a"]) != 1 {
			t.Errorf("%s with --allow-outside-scenario: %v", name, err)
		}
	}
}

// Event types are Normal and Warning, case and all; the wrong case is
// refused with the right one suggested.
func TestEventTypeCase(t *testing.T) {
	_, err := LoadDir(writeScenario(t, "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: other\nphases:\n  - name: a\n    apply: only\n    documents:\n      - {name: d, type: warning}\n    record:\n      - {name: r, type: Info}\n"))
	for _, want := range []string{`phases[0].documents[0].type: "warning": event types are Normal and Warning, and case matters (did you mean Warning?)`,
		`phases[0].record[0].type: "Info": event types are Normal and Warning`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want %q", err, want)
		}
	}
}

// What lint checks of checks.yaml against the phases' objects, load does:
// run refuses it before anything starts, and warns of the rest.
func TestChecksAgainstWhatThePhasesCreate(t *testing.T) {
	_, err := LoadDir(writeScenario(t, "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: other\nphases:\n  - name: a\n    apply: only\n    documents:\n      - {name: d, namePrefix: y}\n    workloads:\n      - {kind: Deployment, name: x, condition: Available}\n"))
	var ps Problems
	if !errors.As(err, &ps) || len(ps) != 2 || ps[0].Path != "phases[0].documents[0].namePrefix" || ps[1].Path != "phases[0].workloads[0].name" {
		t.Fatalf("%v", err)
	}
	s, err := LoadDir(writeScenario(t, "apiVersion: eventcheck.dev/v1\nkind: Checks\nnamespace: othr\nphases:\n  - name: a\n    apply: only\n    documents:\n      - {name: d, namespace: elsewhere}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Warnings) != 2 || s.Warnings[0].Path != "namespace" || !strings.Contains(s.Warnings[0].Message, `their objects are in "other"`) ||
		s.Warnings[1].Path != "phases[0].documents[0].namespace" {
		t.Fatalf("warnings %v", s.Warnings)
	}
}
