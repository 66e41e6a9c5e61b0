package pagecheck

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const overrides = `apiVersion: eventcheck.dev/v1
kind: Checks
completeness:
  disabled: the module's own exporter drops old events
phases:
  - name: base
    documents:
      - name: scenario-a-failedmount-base
        reason: FailedMount
        namePrefix: scenario-a
        message: misspelt-secret-name
        timeout: 45s
  - name: fix
    workloads:
      - {kind: Deployment, name: scenario-a, condition: Available, timeout: 90s}
`

// A checks.yaml adds what the page does not say and replaces what it says
// otherwise, step by step.
func TestOverrideAddsToAndReplacesThePlan(t *testing.T) {
	file := filepath.Join(t.TempDir(), "checks.yaml")
	if err := os.WriteFile(file, []byte(overrides), 0o644); err != nil {
		t.Fatal(err)
	}
	d, err := Load([]string{original}, manifests, "")
	if err != nil {
		t.Fatal(err)
	}
	before := len(d.Story.Claims)
	if err := d.Override(file); err != nil {
		t.Fatal(err)
	}
	s, err := d.Scenario(t.TempDir())
	if err != nil {
		t.Fatalf("%v\n%s", err, d.Checks)
	}
	c := s.Checks
	if c.Completeness.Disabled == "" || len(c.Phases) != 2 || len(c.Phases[1].Workloads) != 1 || c.Phases[1].Workloads[0].Timeout != 90*time.Second {
		t.Fatalf("merged plan: completeness %+v, phases %+v", c.Completeness, c.Phases)
	}
	n := 0
	for _, doc := range c.Phases[0].Documents {
		if doc.Name == "scenario-a-failedmount-base" {
			n++
			if doc.Message != "misspelt-secret-name" || doc.Timeout != 45*time.Second {
				t.Errorf("the step is not the file's: %+v", doc)
			}
		}
	}
	if n != 1 || len(c.Phases[0].Documents) < 5 || c.Phases[0].Apply != "modules/observability/opensearch/scenarios/events/base" {
		t.Errorf("%d steps of that name among %d; apply %q\n%s", n, len(c.Phases[0].Documents), c.Phases[0].Apply, d.Checks)
	}
	if len(d.Story.Claims) != before || !strings.Contains(string(d.Checks), "# Merged with "+file) {
		t.Errorf("claims %d → %d; plan:\n%s", before, len(d.Story.Claims), d.Checks)
	}
}

// A checks.yaml beside the page's scenarios is merged without being named;
// one with a field no checks.yaml has is refused at its line.
func TestOverrideBesideTheScenarios(t *testing.T) {
	root := t.TempDir()
	if err := os.CopyFS(root, os.DirFS(repo)); err != nil {
		t.Fatal(err)
	}
	beside := filepath.Join(root, "manifests/modules/observability/opensearch/scenarios/events/checks.yaml")
	if err := os.WriteFile(beside, []byte(overrides), 0o644); err != nil {
		t.Fatal(err)
	}
	pageFile := filepath.Join(root, "website/docs/observability/opensearch/kubernetes-events.md")
	d, err := Load([]string{pageFile}, filepath.Join(root, "manifests"), "")
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Override(""); err != nil || !strings.Contains(string(d.Checks), "condition: Available") {
		t.Fatalf("Override: %v\n%s", err, d.Checks)
	}
	if err := os.WriteFile(beside, []byte(overrides+"    settle: 5s\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err = d.Override("")
	if err == nil || !strings.Contains(err.Error(), beside) || !strings.Contains(err.Error(), "line 16") {
		t.Fatalf("a workload with settle: %v", err)
	}
}
