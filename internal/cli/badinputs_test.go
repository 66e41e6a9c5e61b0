package cli

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/opensearch"
	"github.com/eventcheck/eventcheck/internal/procstat"
)

// The secrets the bad inputs hide: in a URL's password and query, in --set
// values, in a file passed by mistake. No message may carry one.
const (
	secretURL  = "urlpass-7f3a"
	secretSet  = "setpass-9c1d"
	secretFile = "filepass-2b8e"
)

var planted = []string{secretURL, secretSet, secretFile}

// badInput is one input a careless or hostile user gives: the exit code
// it must get, the words its message must carry and those it must not.
type badInput struct {
	name string
	args []string
	code int
	want []string
	not  []string
	// env is the env dir of an `env` command: nothing of OpenSearch may
	// be left running under it.
	env string
	// starts is an input that passes (with a warning): the environment
	// is tried, fails at once, and its reports are written.
	starts bool
}

// goodScenario is a scenario that loads and lints clean; the table breaks
// one thing at a time.
const goodChecks = `apiVersion: eventcheck.dev/v1
kind: Checks
namespace: shop
phases:
  - name: only
    apply: base
    documents:
      - {name: scheduled, type: Normal, reason: Scheduled, kind: Pod, namePrefix: web}
    workloads:
      - {kind: Deployment, name: web, condition: Available}
`

const goodValues = `config:
  logLevel: info
  logFormat: json
  route: {routes: [{match: [{receiver: os}]}]}
  receivers:
    - name: os
      opensearch: {hosts: ["https://search.example:443"], index: eks-kubernetes-events, deDot: true, useEventID: true}
`

const goodBare = `logLevel: info
route: {routes: [{match: [{receiver: os}]}]}
receivers:
  - name: os
    opensearch: {hosts: ["https://search.example:443"], index: eks-kubernetes-events, deDot: true, useEventID: true}
`

var baseTree = map[string]string{
	"base/kustomization.yaml": "namespace: shop\nresources: [ns.yaml, deploy.yaml]\n",
	"base/ns.yaml":            "apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n",
	"base/deploy.yaml": `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec: {containers: [{name: c, image: nginx}]}
`,
}

// badFixture writes the scenarios and files of the table under one
// temporary directory.
type badFixture struct{ root string }

func newBadFixture(t *testing.T) badFixture {
	t.Helper()
	f := badFixture{root: t.TempDir()}
	f.scenario(t, "good", goodChecks)
	writeTree(t, f.root, map[string]string{
		"values.yaml":       goodValues,
		"values-typo.yaml":  strings.Replace(goodValues, "logLevel: info", "logLevel: info\n  maxEventsAgeSeconds: 60", 1),
		"bare.yaml":         goodBare,
		"password":          secretFile + "\n",
		"a-file":            "not a directory\n",
		"empty/checks.yaml": "",
		"dashboards.ndjson": `{"id":"ip","type":"index-pattern","attributes":{"title":"eks-kubernetes-events*","timeFieldName":"lastTimestamp"},"references":[]}
{"id":"d","type":"dashboard","attributes":{"title":"D","panelsJSON":"[{\"panelRefName\":\"panel_0\"}]"},"references":[{"name":"panel_0","type":"visualization","id":"gone"}]}
`,
		// Outside every scenario: what a symlink or a ../ path reaches.
		"outside/base/kustomization.yaml": baseTree["base/kustomization.yaml"],
		"outside/base/ns.yaml":            baseTree["base/ns.yaml"],
		"outside/base/deploy.yaml":        baseTree["base/deploy.yaml"],
	})
	f.scenario(t, "prefix-typo", strings.Replace(goodChecks, "namePrefix: web}", "namePrefix: wbe}", 1))
	f.scenario(t, "workload-typo", strings.Replace(goodChecks, "name: web, condition", "name: wbe, condition", 1))
	f.scenario(t, "lowercase-type", strings.Replace(goodChecks, "type: Normal", "type: normal", 1))
	f.scenario(t, "other-namespace", strings.Replace(goodChecks, "namespace: shop", "namespace: shp", 1))
	f.scenario(t, "two-documents", goodChecks+"---\napiVersion: eventcheck.dev/v1\nkind: Checks\n")
	f.scenario(t, "big", goodChecks+strings.Repeat("# a line of comment that pads the file out to more than a megabyte\n", 20000))
	f.scenario(t, "exporter-set-secret", goodChecks+"exporter:\n  values: ../values.yaml\n  set:\n    - config.receivers[0].opensearch.bulk.maxDocs="+secretSet+"\n")
	f.scenario(t, "exporter-typo", goodChecks+"exporter:\n  values: ../values-typo.yaml\n")
	f.scenario(t, "dashboard-gone", goodChecks+"dashboard:\n  file: ../dashboards.ndjson\n  after: only\n")
	symlinked := f.scenario(t, "symlink-out", goodChecks)
	if err := os.RemoveAll(filepath.Join(symlinked, "base")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(filepath.Join(f.root, "outside", "base"), filepath.Join(symlinked, "base")); err != nil {
		t.Fatal(err)
	}
	dotdot := f.scenario(t, "dotdot-out", goodChecks)
	writeTree(t, dotdot, map[string]string{"base/kustomization.yaml": "resources: [../../outside/base]\n"})
	for _, name := range []string{"base/ns.yaml", "base/deploy.yaml"} {
		_ = os.Remove(filepath.Join(dotdot, name))
	}
	fifo := f.path("fifo")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func (f badFixture) path(name string) string { return filepath.Join(f.root, name) }

// scenario writes a scenario directory of the base tree and checks.
func (f badFixture) scenario(t *testing.T, name, checks string) string {
	t.Helper()
	dir := f.path(name)
	writeTree(t, dir, baseTree)
	writeTree(t, dir, map[string]string{"checks.yaml": checks})
	return dir
}

// badInputs is the table: each input refused before anything starts.
func badInputs(f badFixture, envDir string) []badInput {
	sc := func(name string) []string { return []string{"--scenarios", f.path(name)} }
	run := func(extra ...string) []string { return append([]string{"run"}, extra...) }
	lint := func(extra ...string) []string { return append([]string{"lint"}, extra...) }
	values := []string{"--scenarios", f.path("good"), "--exporter-config", f.path("values.yaml")}
	return []badInput{
		// Secrets in URLs.
		{name: "URL that does not parse", args: run("--opensearch-url", "http://admin:"+secretURL+"@[::1"), code: 2,
			want: []string{`--opensearch-url "http://admin:xxxxx@[::1"`}},
		{name: "URL host with a space", args: run("--opensearch-url", "http://admin:"+secretURL+"@ho st"), code: 2, want: []string{"--opensearch-url", "xxxxx"}},
		{name: "URL without a scheme", args: run("--opensearch-url", "admin:"+secretURL+"@host"), code: 2, want: []string{"--opensearch-url", "admin:xxxxx@host"}},
		{name: "URL with a bad escape", args: run("--opensearch-url", "http://admin:"+secretURL+"@h/%zz"), code: 2, want: []string{"--opensearch-url", "xxxxx"}},
		{name: "URL with a password query", args: run("--opensearch-url", "http://h:9200/?password="+secretURL), code: 2, want: []string{"--opensearch-url", "password=xxxxx", "query"}},
		{name: "lint --set host with credentials", args: lint("--exporter-config", f.path("values.yaml"), "--set", "config.receivers[0].opensearch.hosts[0]=http://admin:"+secretURL+"@[::1"), code: 2,
			want: []string{"hosts[0]", "http://admin:xxxxx@[::1"}},
		// Secrets in --set values and files.
		{name: "lint --set tls to a value", args: lint("--exporter-config", f.path("values.yaml"), "--set", "config.receivers[0].opensearch.tls="+secretSet), code: 2,
			want: []string{"config.receivers[0].opensearch.tls", "want a mapping"}},
		{name: "run --set a number to a secret", args: run(append(values, "--set", "config.receivers[0].opensearch.bulk.maxDocs="+secretSet)...), code: 2,
			want: []string{"cannot unmarshal"}},
		{name: "checks.yaml exporter.set type error (run)", args: run(sc("exporter-set-secret")...), code: 2, want: []string{"cannot unmarshal"}},
		{name: "checks.yaml exporter.set type error (lint)", args: lint("--scenario", f.path("exporter-set-secret")), code: 2, want: []string{"cannot unmarshal"}},
		{name: "password file as --checks (run)", args: run("--scenarios", f.path("good"), "--checks", f.path("password")), code: 2, want: []string{"not a checks.yaml", ":1:"}},
		{name: "password file as --checks (lint)", args: lint("--scenario", f.path("good"), "--checks", f.path("password")), code: 2, want: []string{"not a checks.yaml"}},
		// Bounds.
		{name: "checks.yaml of more than 1 MiB", args: run(sc("big")...), code: 2, want: []string{"checks.yaml", "larger than 1 MiB"}},
		{name: "zero device as --checks", args: run("--scenarios", f.path("good"), "--checks", "/dev/zero"), code: 2, want: []string{"/dev/zero", "larger than 1 MiB"}},
		{name: "zero device as --exporter-config", args: run("--scenarios", f.path("good"), "--exporter-config", "/dev/zero"), code: 2, want: []string{"/dev/zero", "larger than 4 MiB"}},
		{name: "zero device as --dashboards", args: lint("--dashboards", "/dev/zero"), code: 2, want: []string{"/dev/zero", "larger than 32 MiB"}},
		// Flags refused before anything starts.
		{name: "--aws-service s3", args: run("--aws-service", "s3"), code: 2, want: []string{`--aws-service "s3"`}},
		{name: "--nodes 0", args: run("--nodes", "0"), code: 2, want: []string{"--nodes 0"}},
		{name: "missing --opensearch-ca", args: run("--opensearch-ca", f.path("nonexistent.pem")), code: 2, want: []string{"--opensearch-ca", "no such file"}},
		{name: "missing --opensearch-cert", args: run("--opensearch-cert", f.path("nonexistent.pem"), "--opensearch-key", f.path("password")), code: 2, want: []string{"--opensearch-cert", "no such file"}},
		{name: "missing --opensearch-key", args: run("--opensearch-cert", f.path("password"), "--opensearch-key", f.path("nonexistent.pem")), code: 2, want: []string{"--opensearch-key", "no such file"}},
		{name: "missing --kubeconfig", args: run("--cluster", "kubeconfig", "--kubeconfig", f.path("nonexistent")), code: 2, want: []string{"--kubeconfig", "no such file"}},
		{name: "--timeout 0", args: run("--timeout", "0"), code: 2, want: []string{"--timeout 0s"}, not: []string{"deadline"}},
		{name: "--timeout negative", args: run("--timeout", "-1m"), code: 2, want: []string{"--timeout -1m0s"}},
		{name: "missing --localcluster-bin (run)", args: run("--localcluster-bin", f.path("nonexistent")), code: 2, want: []string{"--localcluster-bin"}},
		{name: "missing --localcluster-bin (env up)", args: []string{"env", "up", "--localcluster-bin", f.path("nonexistent"), "--env-dir", envDir, "--cluster-name", "ec-bad-inputs"},
			code: 2, want: []string{"--localcluster-bin"}, env: envDir},
		// Report destinations.
		{name: "--junit naming a directory", args: run("--junit", f.root), code: 2, want: []string{"--junit", "is a directory"}},
		{name: "--junit /dev/full", args: run("--junit", "/dev/full"), code: 2, want: []string{"--junit /dev/full", "not a regular file"}},
		{name: "--json in /proc", args: run("--json", "/proc/eventcheck/report.json"), code: 2, want: []string{"--json /proc/eventcheck/report.json", "cannot be written"}},
		{name: "--report under a file", args: run("--report", filepath.Join(f.path("a-file"), "report.html")), code: 2, want: []string{"--report", "is a file, not a directory"}},
		{name: "--artifacts naming a file", args: run("--artifacts", f.path("a-file")), code: 2, want: []string{"--artifacts", "is a file: give a directory"}, not: []string{"/logs"}},
		// Input silently dropped.
		{name: "--set with an index left open", args: run(append(values, "--set", "receivers[0.opensearch.password="+secretSet)...), code: 2,
			want: []string{`"receivers[0.opensearch.password"`, "does not close"}},
		{name: "--set with an empty key", args: run(append(values, "--set", "="+secretSet)...), code: 2, want: []string{"empty key"}},
		{name: "--set config. on a bare config", args: run("--scenarios", f.path("good"), "--exporter-config", f.path("bare.yaml"), "--set", "config.receivers[0].opensearch.index=x"), code: 2,
			want: []string{"no config: block", "drop the config. prefix"}},
		{name: "a second document in checks.yaml", args: run(sc("two-documents")...), code: 2, want: []string{"checks.yaml:11", "second YAML document"}},
		// One rule for lint and run.
		{name: "namePrefix no object has (run)", args: run(sc("prefix-typo")...), code: 2, want: []string{"phases[0].documents[0].namePrefix", "wbe*"}},
		{name: "workload the phase does not create (run)", args: run(sc("workload-typo")...), code: 2, want: []string{"phases[0].workloads[0].name", "Deployment wbe"}},
		{name: "type: normal (run)", args: run(sc("lowercase-type")...), code: 2, want: []string{"phases[0].documents[0].type", "did you mean Normal?"}},
		{name: "type: normal (lint)", args: lint("--scenario", f.path("lowercase-type")), code: 2, want: []string{"did you mean Normal?"}},
		{name: "namespace no phase uses (lint)", args: lint("--scenario", f.path("other-namespace")), code: 0, want: []string{"warning: namespace:", "namespace shp"}},
		{name: "namespace no phase uses (run)", args: run(sc("other-namespace")...), code: 3, want: []string{"warning: ", "namespace: no phase creates namespace shp"}, starts: true},
		{name: "lint: missing --kubeconfig", args: lint("--scenario", f.path("good"), "--kubeconfig", f.path("nonexistent")), code: 2, want: []string{"--kubeconfig", "no such file"}},
		{name: "exporter: block of checks.yaml (lint)", args: lint("--scenario", f.path("exporter-typo")), code: 2, want: []string{"values-typo.yaml", "maxEventsAgeSeconds"}},
		{name: "exporter: block of checks.yaml (run)", args: run(sc("exporter-typo")...), code: 2, want: []string{"values-typo.yaml", "maxEventsAgeSeconds"}},
		{name: "dashboard panel of a missing visualization (lint)", args: lint("--dashboards", f.path("dashboards.ndjson")), code: 2, want: []string{"visualization gone, which is not in the file"}},
		{name: "dashboard panel of a missing visualization (run)", args: run(sc("dashboard-gone")...), code: 2, want: []string{"visualization gone, which is not in the file"}},
		// Containment.
		{name: "symlink out of the scenario (run)", args: run(sc("symlink-out")...), code: 2, want: []string{"phases[0].apply", "outside the scenario directory", "--allow-outside-scenario"}},
		{name: "symlink out of the scenario (lint)", args: lint("--scenario", f.path("symlink-out")), code: 2, want: []string{"outside the scenario directory"}},
		{name: "kustomization reaching ../../outside (run)", args: run(sc("dotdot-out")...), code: 2, want: []string{"phases[0].apply", "outside the scenario directory"}},
		{name: "kustomization reaching ../../outside (lint)", args: lint("--scenario", f.path("dotdot-out")), code: 2, want: []string{"outside the scenario directory"}},
		// Messages.
		{name: "empty checks.yaml", args: run(sc("empty")...), code: 2, want: []string{"checks.yaml is empty"}, not: []string{"EOF"}},
		{name: "--scenarios naming a file", args: run("--scenarios", f.path("a-file")), code: 2, want: []string{"is a file, not a directory"}, not: []string{"does not exist"}},
		{name: "missing --checks file", args: run("--scenarios", f.path("good"), "--checks", f.path("nonexistent.yaml")), code: 2,
			want: []string{"checks file " + f.path("nonexistent.yaml") + " does not exist"}, not: []string{"has no checks.yaml"}},
		{name: "a flag taken as another's value", args: run("--scenarios", "--cluster", "local"), code: 2, want: []string{`--scenarios took "--cluster" as its value`}, not: []string{"unknown command"}},
		{name: "a far unknown key gets no suggestion", args: lint("--exporter-config", f.path("values.yaml"), "--set", "config.receivers[0].opensearch.colour=x"), code: 2,
			want: []string{"opensearch.colour: unknown field"}, not: []string{"did you mean"}},
		{name: "the built-in scenario is named as such", args: run("--set", "a=b"), code: 2, want: []string{"built-in scenario events, checks.yaml"}, not: []string{"/scenarios/events"}},
	}
}

// Every bad input is refused before anything starts: its exit code, a
// message that says what is wrong, and nothing left behind (no report
// directory, no OpenSearch).
func TestBadInputsRefusedBeforeAnythingStarts(t *testing.T) {
	f := newBadFixture(t)
	envDir := t.TempDir()
	// Should env up start an OpenSearch after all, it is stopped.
	t.Cleanup(func() { _ = opensearch.StopDetached(harness.OpenSearchEnvDir(envDir)) })
	for _, tc := range badInputs(f, envDir) {
		t.Run(tc.name, func(t *testing.T) {
			code, out, reports := runBadInput(t, f, tc)
			if code != tc.code {
				t.Errorf("exit %d, want %d:\n%s", code, tc.code, out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			for _, w := range tc.not {
				if strings.Contains(out, w) {
					t.Errorf("output has %q:\n%s", w, out)
				}
			}
			if _, err := os.Stat(reports); err == nil && !tc.starts {
				t.Errorf("left %s behind", reports)
			}
			if tc.env != "" {
				checkNothingRunsUnder(t, tc.env)
			}
		})
	}
}

// No message of the table carries a planted secret.
func TestBadInputMessagesCarryNoSecret(t *testing.T) {
	f := newBadFixture(t)
	for _, tc := range badInputs(f, t.TempDir()) {
		_, out, _ := runBadInput(t, f, tc)
		for _, secret := range planted {
			if strings.Contains(out, secret) {
				t.Errorf("%s: the message carries the secret %s:\n%s", tc.name, secret, out)
			}
		}
	}
}

// runBadInput runs one input with report flags into a directory that must
// stay absent; a run given a flag of its own keeps it (the last wins).
// Should an input pass by mistake, its environment fails at once: the
// localcluster binary exits 1 and OpenSearch is an address that refuses.
func runBadInput(t *testing.T, f badFixture, tc badInput) (int, string, string) {
	t.Helper()
	reports := filepath.Join(t.TempDir(), "reports")
	args := tc.args
	if args[0] == "run" {
		fails := f.path("fails")
		if err := os.WriteFile(fails, []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
		args = append([]string{"run", "--cluster", "local", "--localcluster-bin", fails, "--opensearch", "url", "--opensearch-url", "http://127.0.0.1:1",
			"--junit", filepath.Join(reports, "a", "junit.xml"), "--json", filepath.Join(reports, "b", "report.json"),
			"--report", filepath.Join(reports, "c", "report.html"), "--artifacts", filepath.Join(reports, "d")}, args[1:]...)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	code, out := eventcheck(t, ctx, args...)
	return code, out, reports
}

// checkNothingRunsUnder wants no detached OpenSearch recorded in the env
// dir and no process whose command line names it.
func checkNothingRunsUnder(t *testing.T, envDir string) {
	t.Helper()
	if url, ok := opensearch.Detached(harness.OpenSearchEnvDir(envDir)); ok {
		t.Errorf("an OpenSearch is left running at %s", url)
	}
	if procs := procstat.Naming(envDir); len(procs) > 0 {
		t.Errorf("processes left running under %s: %v", envDir, procs)
	}
}

// Ctrl-C while the inputs load (a pipe no one writes, as --checks) ends
// the command with 130, and nothing starts.
func TestInterruptWhileLoadingExits130(t *testing.T) {
	f := newBadFixture(t)
	fifo := f.path("fifo")
	// Whatever blocks opening the pipe is released at the end.
	t.Cleanup(func() {
		if w, err := os.OpenFile(fifo, os.O_WRONLY|syscall.O_NONBLOCK, 0); err == nil {
			w.Close()
		}
	})
	for _, args := range [][]string{
		{"run", "--scenarios", f.path("good"), "--checks", fifo},
		{"lint", "--scenario", f.path("good"), "--checks", fifo},
	} {
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		var code int
		var out string
		go func() {
			defer close(done)
			code, out = eventcheck(t, ctx, args...)
		}()
		time.Sleep(300 * time.Millisecond)
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Fatalf("%v: not stopped 10s after the interrupt", args)
		}
		if code != exitcode.Interrupted || !strings.Contains(out, "interrupted") {
			t.Errorf("%v: exit %d, want 130:\n%s", args, code, out)
		}
	}
}

// An env up whose cluster fails after its OpenSearch came up stops that
// OpenSearch again, and says so: nothing is left running.
func TestEnvUpThatFailsHalfWayStopsWhatItStarted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a local OpenSearch; skipped with -short")
	}
	t.Parallel() // an environment of its own; go test runs two such at a time
	te := privateEnv(t, "cli-halfway-")
	// A localcluster that fails once OpenSearch is up (its endpoint is
	// recorded), or after three minutes.
	fails := filepath.Join(t.TempDir(), "localcluster")
	script := fmt.Sprintf("#!/bin/sh\nfor i in $(seq 1800); do [ -s %s ] && exit 1; sleep 0.1; done\nexit 1\n", filepath.Join(te.openSearchDir(), "endpoint"))
	if err := os.WriteFile(fails, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	code, out := te.cli(t, context.Background(), "env", "up", "--cluster", "local", "--localcluster-bin", fails)
	if code != exitcode.Environment || !strings.Contains(out, "local cluster failed to start") || !strings.Contains(out, "stopped what this command had started: OpenSearch") {
		t.Errorf("exit %d, want 3 saying the cluster failed and OpenSearch was stopped:\n%s", code, out)
	}
	checkNothingRunsUnder(t, te.dir)
}
