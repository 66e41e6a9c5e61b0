package report

import (
	"bytes"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/check"
	"github.com/eventcheck/eventcheck/internal/dashboard"
	"github.com/eventcheck/eventcheck/internal/eventindex"
)

func doc(typ, reason, name, msg string, at time.Time) eventindex.Doc {
	var e eventindex.Event
	e.Type, e.Reason, e.Message, e.Count = typ, reason, msg, 1
	e.LastTimestamp = &at
	e.Metadata.Namespace = "test"
	e.InvolvedObject.Kind, e.InvolvedObject.Name, e.InvolvedObject.Namespace = "Pod", name, "test"
	return eventindex.Doc{ID: name + reason, Event: e}
}

func sampleReport(t *testing.T) string {
	t.Helper()
	at := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	docs := []eventindex.Doc{
		doc("Warning", "FailedMount", "scenario-a-1", `MountVolume.SetUp failed for volume "secret-volume" : secret "misspelt-secret-name" not found`, at),
		doc("Warning", "Failed", "scenario-b-1", `Failed to pull image "wrong-image": not found`, at.Add(time.Second)),
		doc("Warning", "FailedScheduling", "scenario-c-1", "0/3 nodes are available: 3 Insufficient cpu.", at.Add(2*time.Second)),
		doc("Normal", "Scheduled", "scenario-a-1", "Successfully assigned test/scenario-a-1 to node-1", at.Add(-time.Second)),
	}
	panels := []dashboard.Result{
		{Panel: dashboard.Panel{Title: "Events over time", Kind: dashboard.Histogram}, Passed: true, Detail: "2 buckets",
			Data: []eventindex.Bucket{{Start: at, Total: 4, Counts: map[string]int64{"Warning": 3, "Normal": 1}}, {Start: at.Add(30 * time.Second), Total: 5, Counts: map[string]int64{"Normal": 5}}}},
		{Panel: dashboard.Panel{Title: "Normal vs Warning", Kind: dashboard.Pie}, Passed: true, Data: []eventindex.TermCount{{Key: "Normal", Count: 6}, {Key: "Warning", Count: 3}}},
		{Panel: dashboard.Panel{Title: "Warnings", Kind: dashboard.Metric}, Passed: true, Data: int64(3)},
		{Panel: dashboard.Panel{Title: "Warnings by namespace", Kind: dashboard.Pie}, Passed: true, Data: []eventindex.TermCount{{Key: "test", Count: 3}}},
		{Panel: dashboard.Panel{Title: "Events", Kind: dashboard.Search, Columns: []string{"type", "reason", "metadata.namespace", "involvedObject.kind", "involvedObject.name", "message"}}, Passed: true, Data: docs},
		{Panel: dashboard.Panel{Title: "Notes", Kind: "markdown"}, Skipped: true, Passed: false, Detail: `panel kind "markdown" is not checked`},
	}
	run := &Run{Scenario: "events", Cluster: "local", OpenSearch: "local", Started: at, Duration: 20 * time.Second, EnvUp: 10 * time.Second, Passed: false,
		Results: []check.Result{
			{Phase: "broken", Kind: "document", Name: "scenario-a-failed-mount", Passed: true, Elapsed: 2400 * time.Millisecond, Detail: "1 matching"},
			{Phase: "fixed", Kind: "document", Name: "scenario-c-started", Passed: false, Detail: "no document after 90s"},
			{Phase: "broken", Kind: "completeness", Name: "every event accounted for", Passed: true, Detail: "33 events",
				Accounting: &check.Accounting{Scope: "namespace test", Events: 33, Documented: 33}},
			{Phase: "fixed", Kind: "completeness", Name: "every event accounted for", Passed: false, Detail: "9 of 42 events",
				Accounting: &check.Accounting{Scope: "namespace test", Events: 42, Documented: 33, Missing: []string{`Normal ScalingReplicaSet Deployment/scenario-a: "Scaled up replica set"`}}},
		},
		Diagnostics: "events in namespace test (from the API):\n  Warning FailedScheduling Pod/scenario-c-1: 0/3 nodes are available",
	}
	path := filepath.Join(t.TempDir(), "report.html")
	if err := WriteHTML(path, run, panels, Timeline(docs, []string{"scenario-a", "scenario-b", "scenario-c"})); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestReportIsSelfContained(t *testing.T) {
	data, err := os.ReadFile(sampleReport(t))
	if err != nil {
		t.Fatal(err)
	}
	page := string(data)
	for _, forbidden := range []string{"<script", "http://", "https://", "<link", "@import"} {
		if forbidden == "http://" && strings.Count(page, "http://") == strings.Count(page, "http://www.w3.org/") {
			continue // SVG namespaces are names, not requests
		}
		if strings.Contains(page, forbidden) {
			t.Errorf("report contains %q: it must need no network", forbidden)
		}
	}
	if n := strings.Count(page, "<svg"); n != 3 {
		t.Errorf("%d inline SVG charts, want 3 (histogram and two pies)", n)
	}
}

// The report opens in a real browser, shows its charts and tables, and the
// page logs no errors.
func TestReportRendersInChromium(t *testing.T) {
	browser, err := exec.LookPath("chromium")
	if err != nil {
		t.Skip("Debian's chromium is not installed (.ci/run installs it)")
	}
	path := sampleReport(t)
	profile := t.TempDir()
	shot := filepath.Join(t.TempDir(), "report.png")
	args := []string{"--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--no-first-run",
		"--disable-component-update", "--disable-sync", "--user-data-dir=" + profile, "--window-size=1280,2400", "--enable-logging=stderr", "--v=0"}
	var stderr bytes.Buffer
	cmd := exec.Command(browser, append(args, "--screenshot="+shot, "file://"+path)...)
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	if strings.Contains(stderr.String(), "CONSOLE") || strings.Contains(stderr.String(), "Uncaught") {
		t.Errorf("the page logged errors:\n%s", stderr.String())
	}
	f, err := os.Open(shot)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	// Charts are coloured: count pixels that are neither white nor grey.
	colored := 0
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			r, g, bl, _ := img.At(x, y).RGBA()
			if max(r, g, bl)-min(r, g, bl) > 0x3000 {
				colored++
			}
		}
	}
	if colored < 500 {
		t.Errorf("screenshot has %d coloured samples: the charts did not render", colored)
	}
	if dst := os.Getenv("EVENTCHECK_REPORT_SCREENSHOT"); dst != "" {
		data, _ := os.ReadFile(shot)
		_ = os.WriteFile(dst, data, 0o644)
	}

	dump := exec.Command(browser, append(args, "--dump-dom", "file://"+path)...)
	dom, err := dump.Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`id="checks"`, `id="dashboard"`, `class="metric">3<`, `class="events"`, `class="timeline"`, "scenario-c", `id="diagnostics"`, "(skipped)", `id="accounting"`, "Deployment/scenario-a"} {
		if !strings.Contains(string(dom), want) {
			t.Errorf("rendered page lacks %s", want)
		}
	}
}
