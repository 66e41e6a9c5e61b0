package cli

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/exporter/image"
	"github.com/eventcheck/eventcheck/internal/chartregistry"
	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/exporters"
	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/report"
)

// The workshop's install on kind, air-gapped: the chart laid out as the
// workshop's, pushed to an OCI registry on loopback and installed by its
// oci:// reference and version, with the workshop module's values, the
// page's --set lines and the image overrides; our exporter's image comes
// from an archive (--image-archive), as no registry serves it. The story
// passes. Then ours (builtin) runs on the same kind cluster, and both
// runs' times are printed (never asserted).
func TestChartOnKind(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a kind cluster; skipped with -short")
	}
	ctx := context.Background()
	eng, err := engine.Detect(ctx)
	if err != nil {
		t.Skipf("the kind path needs a container engine (docker, podman or nerdctl), and none answers: %v; 'eventcheck env engine up' starts one", err)
	}
	t.Logf("container engine: %s %s", eng.Binary, eng.Version)
	dir := t.TempDir()
	name := "ec-chart-" + strconv.Itoa(os.Getpid())
	kubeconfig := filepath.Join(dir, "kubeconfig")
	c, err := cluster.New(cluster.Kind, cluster.WithName(name), cluster.WithKubeconfig(kubeconfig, ""), cluster.WithConfigFile("../../kind-config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	t.Cleanup(func() { _ = c.Down(context.WithoutCancel(ctx)) })
	if err := c.Up(ctx); err != nil {
		t.Fatalf("kind cluster: %v", err)
	}
	kindUp := time.Since(start)

	// What an air-gapped CI has: the image as an archive, the chart in a
	// registry of its own.
	archive := filepath.Join(dir, "events-exporter.tar")
	if err := image.Build(ctx, "../..", runtime.GOARCH, image.DefaultTag, archive); err != nil {
		t.Fatal(err)
	}
	reg, err := chartregistry.Serve()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Close(context.WithoutCancel(ctx)) })
	t.Setenv("HELM_CACHE_HOME", filepath.Join(dir, "helm-cache"))
	t.Setenv("HELM_CONFIG_HOME", filepath.Join(dir, "helm-config"))
	ref, version, err := reg.Push(ctx, "../../fixtures/charts/kubernetes-event-exporter", "charts")
	if err != nil {
		t.Fatal(err)
	}

	shipped, err := os.ReadFile("../../fixtures/workshop-repo/manifests/modules/observability/opensearch/config/events-exporter-values.yaml")
	if err != nil {
		t.Fatal(err)
	}
	// Ours refuses the misspelt key that the upstream exporter ignores.
	values := filepath.Join(dir, "events-exporter-values.yaml")
	if err := os.WriteFile(values, []byte(strings.Replace(string(shipped), "maxEventsAgeSeconds:", "maxEventAgeSeconds:", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	// The page's --set lines (the environment's endpoint replaces them).
	page := []string{"--set", "config.receivers[0].opensearch.username=admin", "--set", "config.receivers[0].opensearch.password=placeholder",
		"--set", "config.receivers[0].opensearch.hosts[0]=https://search.example"}
	run := func(t *testing.T, args ...string) (report.Run, time.Duration) {
		t.Helper()
		out, artifacts := filepath.Join(t.TempDir(), "report.json"), t.TempDir()
		start := time.Now()
		code, text := eventcheck(t, ctx, append([]string{"run", "--cluster", "kind", "--cluster-name", name, "--kubeconfig", kubeconfig,
			"--opensearch", "container", "--exporter-config", values, "--json", out, "--artifacts", artifacts},
			append(page, args...)...)...)
		took := time.Since(start)
		if code != 0 {
			log, _ := os.ReadFile(filepath.Join(artifacts, "logs", "exporter.log"))
			t.Fatalf("exit %d:\n%s\nthe exporter's log:\n%s", code, text, logtail.Lines(string(log), 40))
		}
		var rep report.Run
		data, err := os.ReadFile(out)
		if err == nil {
			err = json.Unmarshal(data, &rep)
		}
		if err != nil || !rep.Passed || rep.Cluster != "kind" {
			t.Fatalf("report (%v): passed %v on %s\n%s", err, rep.Passed, rep.Cluster, text)
		}
		return rep, took
	}

	air := []string{"--exporter", "helm", "--exporter-chart", ref, "--exporter-chart-version", version,
		"--exporter-release", "events-to-opensearch", "--image-archive", archive}
	for _, s := range exporters.AirGappedSet(image.DefaultTag) {
		air = append(air, "--set", s)
	}
	var helmRep, builtinRep report.Run
	var helmTook, builtinTook time.Duration
	// The chart first: our kustomization's teardown deletes the namespace
	// both use, and a terminating namespace refuses the install.
	t.Run("the workshop's chart from an OCI registry", func(t *testing.T) { helmRep, helmTook = run(t, air...) })
	t.Run("the page's own helm install", func(t *testing.T) { pageOnKind(t, ctx, name, kubeconfig, ref, version, archive) })
	t.Run("our exporter", func(t *testing.T) { builtinRep, builtinTook = run(t) })
	t.Logf("kind cluster up in %s; helm chart (%s@%s): environment up %s, story %s, total %s; builtin: environment up %s, story %s, total %s",
		kindUp.Round(time.Second), ref, version, helmRep.EnvUp.Round(100*time.Millisecond), (helmRep.Duration - helmRep.EnvUp).Round(100*time.Millisecond), helmTook.Round(100*time.Millisecond),
		builtinRep.EnvUp.Round(100*time.Millisecond), (builtinRep.Duration - builtinRep.EnvUp).Round(100*time.Millisecond), builtinTook.Round(100*time.Millisecond))
}

// pageOnKind runs the workshop page with --exporter helm: its helm install
// (release, namespace, values, --set lines) runs through the helm
// backend, with only the chart's source and image made reachable, and
// the page's row of the release's pod is judged, not skipped.
func pageOnKind(t *testing.T, ctx context.Context, name, kubeconfig, ref, version, archive string) {
	out := filepath.Join(t.TempDir(), "report.json")
	args := []string{"page", eventsPage, "--manifests", workshopRepo + "manifests", "--cluster", "kind", "--cluster-name", name,
		"--kubeconfig", kubeconfig, "--opensearch", "container", "--exporter", "helm", "--exporter-chart", ref,
		"--exporter-chart-version", version, "--image-archive", archive, "--json", out}
	for _, s := range exporters.AirGappedSet(image.DefaultTag) {
		args = append(args, "--set", s)
	}
	start := time.Now()
	code, text := eventcheck(t, ctx, args...)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	var rep struct {
		Claims []struct{ Kind, Verdict, Page, Run string } `json:"claims"`
	}
	data, err := os.ReadFile(out)
	if err == nil {
		err = json.Unmarshal(data, &rep)
	}
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, c := range rep.Claims {
		if c.Kind == "pod-row" && strings.HasPrefix(c.Page, "events-to-opensearch-kubernetes-event-exporter-") {
			found = true
			if c.Verdict != "holds" {
				t.Errorf("the release's pod row: %s: %s", c.Verdict, c.Run)
			}
		}
	}
	if !found {
		t.Errorf("no claim of the release's pod row:\n%s", text)
	}
	t.Logf("the page on kind with its chart: %s", time.Since(start).Round(100*time.Millisecond))
}
