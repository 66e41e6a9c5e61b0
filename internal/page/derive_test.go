package page

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
)

const (
	fixtureRepo  = "../../fixtures/workshop-repo"
	fixturePage  = fixtureRepo + "/website/docs/observability/opensearch/kubernetes-events.md"
	fixtureJA    = fixtureRepo + "/website/i18n/ja/docusaurus-plugin-content-docs/current/observability/opensearch/kubernetes-events.md"
	fixtureMods  = fixtureRepo + "/manifests"
	moduleDir    = fixtureMods + "/modules/observability/opensearch"
	brokenPage   = "testdata/broken/website/docs/observability/opensearch/kubernetes-events.md"
	scenarioBase = moduleDir + "/scenarios/events/base"
)

func deriveFile(t testing.TB, file, manifests string) *Story {
	t.Helper()
	src, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Parse(file, src)
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	s, err := Derive(p, manifests)
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	return s
}

func TestDeriveFixturePhases(t *testing.T) {
	s := deriveFile(t, fixturePage, fixtureMods)
	type phase struct {
		name, dir string
		timeout   time.Duration
		line      int
	}
	var got []phase
	for _, ph := range s.Phases {
		got = append(got, phase{ph.Name, ph.Dir, ph.Timeout, ph.Line})
	}
	want := []phase{
		{"base", filepath.Join(moduleDir, "scenarios/events/base"), DefaultTimeout, 38},
		{"fix", filepath.Join(moduleDir, "scenarios/events/fix"), 90 * time.Second, 98},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("phases =\n%+v\nwant\n%+v", got, want)
	}
	if n := len(s.Phases[1].Objects); n != 5 {
		t.Errorf("fix renders %d objects, want 5 (its base and patches)", n)
	}
	if want := []string{"scenario-a", "scenario-b", "scenario-c"}; !reflect.DeepEqual(s.Workloads, want) {
		t.Errorf("workloads = %v, want %v", s.Workloads, want)
	}
	if want := []string{"opensearch-exporter", "test"}; !reflect.DeepEqual(s.Namespaces, want) {
		t.Errorf("namespaces = %v, want %v", s.Namespaces, want)
	}
	if len(s.Problems) != 0 {
		t.Errorf("problems = %v, want none", s.Problems)
	}
}

func TestDeriveFixtureHelm(t *testing.T) {
	s := deriveFile(t, fixturePage, fixtureMods)
	want := &HelmInstall{
		Release:   "events-to-opensearch",
		Chart:     "oci://registry-1.docker.io/bitnamicharts/kubernetes-event-exporter",
		Namespace: "opensearch-exporter",
		Values:    []string{filepath.Join(moduleDir, "config/events-exporter-values.yaml")},
		Set: []HelmSet{
			{Flag: "set", Raw: "config.receivers[0].opensearch.username=$OPENSEARCH_USER", Vars: []string{"OPENSEARCH_USER"}},
			{Flag: "set", Raw: "config.receivers[0].opensearch.password=$OPENSEARCH_PASSWORD", Vars: []string{"OPENSEARCH_PASSWORD"}},
			{Flag: "set", Raw: "config.receivers[0].opensearch.hosts[0]=https://$OPENSEARCH_HOST", Vars: []string{"OPENSEARCH_HOST"}},
		},
		CreateNamespace: true,
		Wait:            true,
		Line:            15,
	}
	if !reflect.DeepEqual(s.Helm, want) {
		t.Errorf("helm =\n%+v\nwant\n%+v", s.Helm, want)
	}
	if _, err := os.Stat(s.Helm.Values[0]); err != nil {
		t.Errorf("values file does not map to a file: %v", err)
	}
}

func TestDeriveFixtureDashboard(t *testing.T) {
	s := deriveFile(t, fixturePage, fixtureMods)
	d := s.Dashboard
	if d == nil || d.ID != "kubernetes-events" || d.Line != 33 || d.Phase != "base" {
		t.Fatalf("dashboard = %+v, want kubernetes-events at line 33, phase base (linked before any apply)", d)
	}
	export, err := os.ReadFile(filepath.Join(moduleDir, "opensearch-dashboards.ndjson"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(export), `"id":"`+d.ID+`","type":"dashboard"`) {
		t.Errorf("the module's dashboards export holds no dashboard %q", d.ID)
	}
}

// fixtureClaims are the claims of the fixture page, in page order.
var fixtureClaims = []struct {
	kind ClaimKind
	line int
	key  string
	skip bool
}{
	{KindPodRow, 30, "pod-row/-/opensearch-exporter/events-to-opensearch-kubernetes-event-exporter", false},
	{KindApply, 39, "apply-output/base/namespace/test", false},
	{KindApply, 40, "apply-output/base/secret/some-secret", false},
	{KindApply, 41, "apply-output/base/deployment.apps/scenario-a", false},
	{KindApply, 42, "apply-output/base/deployment.apps/scenario-b", false},
	{KindApply, 43, "apply-output/base/deployment.apps/scenario-c", false},
	{KindPodRow, 55, "pod-row/base/test/scenario-a", false},
	{KindPodRow, 56, "pod-row/base/test/scenario-b", false},
	{KindPodRow, 57, "pod-row/base/test/scenario-c", false},
	{KindProseEvent, 60, "prose-event/base/scenario-a/FailedMount", false},
	{KindProseEvent, 61, "prose-event/base/scenario-b/Failed", false},
	{KindProseEvent, 61, "prose-event/base/scenario-b/BackOff", false},
	{KindProseEvent, 62, "prose-event/base/scenario-c/FailedScheduling", false},
	{KindEventRow, 69, "event-row/base/test/Normal/Scheduled/Pod/scenario-a", false},
	{KindEventRow, 70, "event-row/base/test/Warning/FailedScheduling/Pod/scenario-c", false},
	{KindEventRow, 71, "event-row/base/test/Warning/Failed/Pod/scenario-b", false},
	{KindEventRow, 72, "event-row/base/test/Normal/BackOff/Pod/scenario-b", false},
	{KindEventRow, 73, "event-row/base/test/Warning/Failed/Pod/scenario-b#2", false},
	{KindEventRow, 74, "event-row/base/test/Warning/FailedMount/Pod/scenario-a", false},
	{KindEventRow, 83, "event-row/base/kube-system/Warning/Unhealthy/Pod/coredns", true},
	{KindEventRow, 84, "event-row/base/test/Warning/FailedMount/Pod/scenario-a#2", false},
	{KindApply, 99, "apply-output/fix/namespace/test", false},
	{KindApply, 100, "apply-output/fix/secret/some-secret", false},
	{KindApply, 101, "apply-output/fix/deployment.apps/scenario-a", false},
	{KindApply, 102, "apply-output/fix/deployment.apps/scenario-b", false},
	{KindApply, 103, "apply-output/fix/deployment.apps/scenario-c", false},
	{KindEventDocument, 110, "event-json/fix/kubectl get events -n test --sort-by=.lastTimestamp -o json | jq '.items[-1]'", false},
	{KindRise, 140, "rise/fix/Normal", false},
	{KindRise, 140, "rise/fix/Warning", false},
}

func TestDeriveFixtureClaims(t *testing.T) {
	s := deriveFile(t, fixturePage, fixtureMods)
	if len(s.Claims) != len(fixtureClaims) {
		for _, c := range s.Claims {
			t.Logf("%d %s", c.Line, c.Key)
		}
		t.Fatalf("%d claims, want %d", len(s.Claims), len(fixtureClaims))
	}
	for i, want := range fixtureClaims {
		c := s.Claims[i]
		if c.Kind != want.kind || c.Line != want.line || c.Key != want.key || (c.Skip != "") != want.skip {
			t.Errorf("claim %d = %s line %d %q skip %q; want %s line %d %q skip %v", i, c.Kind, c.Line, c.Key, c.Skip, want.kind, want.line, want.key, want.skip)
		}
		if c.File != fixturePage {
			t.Errorf("claim %s in %q", c.Key, c.File)
		}
		if wantPhase, _, _ := strings.Cut(strings.TrimPrefix(c.Key, string(c.Kind)+"/"), "/"); wantPhase != c.Phase && !(wantPhase == "-" && c.Phase == "") {
			t.Errorf("claim %s has phase %q", c.Key, c.Phase)
		}
	}
}

func claimByKey(t *testing.T, s *Story, key string) Claim {
	t.Helper()
	for _, c := range s.Claims {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("no claim %q", key)
	return Claim{}
}

func TestDeriveFixtureExpectations(t *testing.T) {
	s := deriveFile(t, fixturePage, fixtureMods)
	tests := []struct {
		key  string
		text string
		want Expectation
	}{
		{"apply-output/fix/deployment.apps/scenario-a", "deployment.apps/scenario-a configured",
			AppliedObject{Resource: "deployment", Group: "apps", Kind: "Deployment", Namespace: "test", Name: "scenario-a", Action: "configured"}},
		{"apply-output/base/namespace/test", "namespace/test created",
			AppliedObject{Resource: "namespace", Kind: "Namespace", Name: "test", Action: "created"}},
		{"pod-row/base/test/scenario-b", "scenario-b-7c9f4b5d6d-m4n8t   0/1     ErrImagePull        0          40s",
			PodRow{Namespace: "test", Name: "scenario-b-7c9f4b5d6d-m4n8t", NamePrefix: "scenario-b", Ready: "0/1", Status: "ErrImagePull"}},
		{"event-row/base/test/Warning/FailedMount/Pod/scenario-a", "",
			EventRow{Namespace: "test", Type: "Warning", Reason: "FailedMount", ObjectKind: "Pod", ObjectName: "scenario-a-6d988b8d84-x7k2p",
				ObjectPrefix: "scenario-a", Message: `MountVolume.SetUp failed for volume "secret-volume" : secret "misspelt-secret-name" not found`}},
		{"event-row/base/kube-system/Warning/Unhealthy/Pod/coredns", "",
			EventRow{Namespace: "kube-system", Type: "Warning", Reason: "Unhealthy", ObjectKind: "Pod", ObjectName: "coredns-787cb67946-vh9wz",
				ObjectPrefix: "coredns", Message: "Readiness probe failed: HTTP probe failed with statuscode: 503"}},
		{"prose-event/base/scenario-a/FailedMount",
			"`scenario-a` `FailedMount` `MountVolume.SetUp failed for volume \"secret-volume\" : secret \"misspelt-secret-name\" not found`",
			ProseEvent{Workload: "scenario-a", Reason: "FailedMount", Message: `MountVolume.SetUp failed for volume "secret-volume" : secret "misspelt-secret-name" not found`}},
		{"prose-event/base/scenario-b/Failed", "",
			ProseEvent{Workload: "scenario-b", Reason: "Failed", Message: `Failed to pull image "wrong-image": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/library/wrong-image:latest"...`}},
		{"prose-event/base/scenario-b/BackOff", "`scenario-b` `BackOff`", ProseEvent{Workload: "scenario-b", Reason: "BackOff"}},
		{"rise/fix/Warning", "`Warning`", Rise{Type: "Warning", Before: "base"}},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			c := claimByKey(t, s, tt.key)
			if !reflect.DeepEqual(c.Expect, tt.want) {
				t.Errorf("expect =\n%+v\nwant\n%+v", c.Expect, tt.want)
			}
			if tt.text != "" && c.Text != tt.text {
				t.Errorf("text = %q, want %q", c.Text, tt.text)
			}
		})
	}
	c := claimByKey(t, s, "event-row/base/kube-system/Warning/Unhealthy/Pod/coredns")
	if c.Skip != "the page's story does not create namespace kube-system" {
		t.Errorf("skip = %q", c.Skip)
	}
}

func TestDeriveFixtureDocument(t *testing.T) {
	s := deriveFile(t, fixturePage, fixtureMods)
	c := s.Claims[slices.IndexFunc(s.Claims, func(c Claim) bool { return c.Kind == KindEventDocument })]
	doc := c.Expect.(EventDocument)
	if doc.Type != "Normal" || doc.Reason != "ScalingReplicaSet" || doc.Namespace != "test" ||
		doc.ObjectKind != "Deployment" || doc.ObjectPrefix != "scenario-c" ||
		doc.Message != "Scaled down replica set scenario-c-5f8b7d9c4b from 1 to 0" {
		t.Errorf("document = %+v", doc)
	}
	kinds := map[string]JSONKind{}
	for _, f := range doc.Fields {
		kinds[f.Path] = f.Kind
	}
	for path, kind := range map[string]JSONKind{
		"count": JSONNumber, "eventTime": JSONNull, "involvedObject": JSONObject,
		"involvedObject.namespace": JSONString, "metadata.name": JSONString, "source.component": JSONString, "type": JSONString,
	} {
		if kinds[path] != kind {
			t.Errorf("field %s is %q, want %q", path, kinds[path], kind)
		}
	}
	if !strings.HasPrefix(c.Text, "{") || !strings.Contains(c.Text, "    ...") {
		t.Errorf("text is not the sample as the page shows it: %q", c.Text)
	}
}

func TestDeriveSkipsTestFalseBlocks(t *testing.T) {
	s := deriveFile(t, fixturePage, fixtureMods)
	for _, c := range s.Claims {
		if c.Line >= 89 && c.Line <= 93 {
			t.Errorf("claim %s comes from the test=false block", c.Key)
		}
	}
}

func TestDeriveBrokenPageClaimsTheEventThatNeverHappens(t *testing.T) {
	s := deriveFile(t, brokenPage, fixtureMods)
	c := claimByKey(t, s, "prose-event/base/scenario-a/Unhealthy")
	if c.Line != 19 || c.Skip != "" || c.File != brokenPage {
		t.Errorf("claim at %s:%d skip %q, want %s:19 and checked", c.File, c.Line, c.Skip, brokenPage)
	}
	want := ProseEvent{Workload: "scenario-a", Reason: "Unhealthy", Message: "Liveness probe failed: HTTP probe failed with statuscode: 500"}
	if !reflect.DeepEqual(c.Expect, want) {
		t.Errorf("expect = %+v", c.Expect)
	}
}

func TestDeriveTranslationHasTheSameClaims(t *testing.T) {
	en := deriveFile(t, fixturePage, fixtureMods)
	ja := deriveFile(t, fixtureJA, fixtureMods)
	if ja.Lang != "ja" || ja.Path != en.Path {
		t.Fatalf("translation lang %q path %q", ja.Lang, ja.Path)
	}
	if len(en.Claims) != len(ja.Claims) {
		t.Fatalf("%d claims in the original, %d in the translation", len(en.Claims), len(ja.Claims))
	}
	for i := range en.Claims {
		e, j := en.Claims[i], ja.Claims[i]
		if e.Key != j.Key || e.Text != j.Text || !reflect.DeepEqual(e.Expect, j.Expect) || e.Skip != j.Skip {
			t.Errorf("claim %d: %s %+v / %s %+v", i, e.Key, e.Expect, j.Key, j.Expect)
		}
	}
	if d := CompareTranslations(en, ja); len(d) != 0 {
		t.Errorf("differences = %v, want none", d)
	}
	if !reflect.DeepEqual(en.Dashboard.ID, ja.Dashboard.ID) || !reflect.DeepEqual(en.Helm, ja.Helm) {
		t.Errorf("translation installs or links something else")
	}
}

func TestCompareTranslationsCatchesEditedCode(t *testing.T) {
	src, err := os.ReadFile(fixtureJA)
	if err != nil {
		t.Fatal(err)
	}
	edits := []struct {
		name     string
		edit     func(string) string
		kind     DifferenceKind
		key      string
		origLine int
	}{
		{"a changed apply output", func(s string) string {
			return strings.Replace(s, "deployment.apps/scenario-b configured", "deployment.apps/scenario-b unchanged", 1)
		}, Changed, "apply-output/fix/deployment.apps/scenario-b", 102},
		{"a missing code block", func(s string) string {
			start := strings.Index(s, "```bash wait=15")
			end := start + strings.Index(s[start:], "```\n\n") + 5
			return s[:start] + s[end:]
		}, Missing, "pod-row/base/test/scenario-a", 55},
		{"a changed quoted message", func(s string) string {
			return strings.Replace(s, "code = Unknown desc", "code = NotFound desc", 1)
		}, Changed, "prose-event/base/scenario-b/Failed", 61},
		{"an added code span", func(s string) string {
			return strings.Replace(s, "Pod はスケジュールされないままです。", "Pod はスケジュールされないままです。`scenario-c` は `Evicted` にもなります。", 1)
		}, Added, "prose-event/base/scenario-c/Evicted", 0},
	}
	en := deriveFile(t, fixturePage, fixtureMods)
	for _, tt := range edits {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "website/i18n/ja/docusaurus-plugin-content-docs/current/observability/opensearch")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			file := filepath.Join(dir, "kubernetes-events.md")
			edited := tt.edit(string(src))
			if edited == string(src) {
				t.Fatal("the edit changed nothing")
			}
			if err := os.WriteFile(file, []byte(edited), 0o644); err != nil {
				t.Fatal(err)
			}
			ja := deriveFile(t, file, fixtureMods)
			diffs := CompareTranslations(en, ja)
			i := slices.IndexFunc(diffs, func(d Difference) bool { return d.Key == tt.key })
			if i < 0 {
				t.Fatalf("no difference for %s in %v", tt.key, diffs)
			}
			d := diffs[i]
			if d.Kind != tt.kind || d.Lang != "ja" || d.Original.Line != tt.origLine {
				t.Errorf("difference = %+v, want %s at original line %d", d, tt.kind, tt.origLine)
			}
			if tt.kind != Missing && (d.Translation.File != file || d.Translation.Line == 0) {
				t.Errorf("difference does not name the translation's line: %+v", d)
			}
			if tt.kind != Added && d.Original.File != fixturePage {
				t.Errorf("difference does not name the original: %+v", d)
			}
		})
	}
}

// module writes a manifests directory with one kustomization per phase
// name, each a Deployment in namespace ns.
func module(t *testing.T, ns string, phases ...string) string {
	t.Helper()
	root := t.TempDir()
	for _, ph := range phases {
		dir := filepath.Join(root, "modules/m", ph)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		files := map[string]string{
			"kustomization.yaml": "namespace: " + ns + "\nresources:\n  - deploy.yaml\n",
			"deploy.yaml": "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  selector:\n    matchLabels: {app: web}\n" +
				"  template:\n    metadata:\n      labels: {app: web}\n    spec:\n      containers:\n        - name: web\n          image: nginx\n",
		}
		for name, body := range files {
			if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	return root
}

func derive(t *testing.T, manifests string, src []byte) *Story {
	t.Helper()
	s, err := Derive(mustParse(t, src), manifests)
	if err != nil {
		t.Fatalf("Derive: %v", err)
	}
	return s
}

func TestDerivePhasePaths(t *testing.T) {
	root := module(t, "shop", "one", "two", "three")
	s := derive(t, root, md(
		"'''bash timeout=45",
		"$ kubectl apply -k ~/environment/eks-workshop/modules/m/one",
		"$ kubectl apply --kustomize=$HOME/environment/eks-workshop/modules/m/two/",
		"'''",
		"",
		"'''bash test=false",
		"$ kubectl apply -k ~/environment/eks-workshop/modules/m/never",
		"'''",
		"",
		"'''bash",
		"$ kubectl -n shop apply -k /home/ec2-user/environment/eks-workshop/modules/m/three && kubectl get pods -n shop",
		"'''",
	))
	var got []string
	for _, ph := range s.Phases {
		got = append(got, ph.Name+" "+ph.Dir+" "+ph.Timeout.String())
	}
	want := []string{
		"one " + filepath.Join(root, "modules/m/one") + " 45s",
		"two " + filepath.Join(root, "modules/m/two") + " 45s",
		"three " + filepath.Join(root, "modules/m/three") + " 2m0s",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("phases =\n%v\nwant\n%v", got, want)
	}
	if !reflect.DeepEqual(s.Workloads, []string{"web"}) || !reflect.DeepEqual(s.Namespaces, []string{"shop"}) {
		t.Errorf("workloads %v namespaces %v", s.Workloads, s.Namespaces)
	}
}

func TestDeriveRefusesAPhaseThatDoesNotRender(t *testing.T) {
	p := mustParse(t, md("intro", "", "'''bash", "$ kubectl apply -k ~/environment/eks-workshop/modules/m/missing", "'''"))
	_, err := Derive(p, t.TempDir())
	var pe *Error
	if !errors.As(err, &pe) || pe.File != docFile || pe.Line != 4 || pe.Err == nil {
		t.Fatalf("err = %v, want a page error at line 4 with kustomize's cause", err)
	}
}

func TestDeriveHelmForms(t *testing.T) {
	root := module(t, "ns", "base")
	tests := []struct {
		name, cmd string
		want      HelmInstall
	}{
		{"upgrade --install, pinned, -n", "helm upgrade --install exp repo/chart -n events --version 3.2.1 --set-string a=b --timeout 5m",
			HelmInstall{Release: "exp", Chart: "repo/chart", Namespace: "events", Version: "3.2.1",
				Set: []HelmSet{{Flag: "set-string", Raw: "a=b"}}, Other: []string{"--timeout 5m"}}},
		{"values and a local chart", "helm install exp ~/environment/eks-workshop/charts/x --values=~/environment/eks-workshop/v.yaml -f other.yaml --set x=${OPENSEARCH_HOST}:443,y=$HOME",
			HelmInstall{Release: "exp", Chart: filepath.Join(root, "charts/x"),
				Values: []string{filepath.Join(root, "v.yaml"), "other.yaml"},
				Set:    []HelmSet{{Flag: "set", Raw: "x=${OPENSEARCH_HOST}:443,y=$HOME", Vars: []string{"OPENSEARCH_HOST", "HOME"}}}}},
		{"wait=false", "helm install exp oci://r/c --wait=false --create-namespace",
			HelmInstall{Release: "exp", Chart: "oci://r/c", CreateNamespace: true}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := derive(t, root, md("'''bash", "$ "+tt.cmd, "'''"))
			tt.want.Line = 2
			if !reflect.DeepEqual(s.Helm, &tt.want) {
				t.Errorf("helm =\n%+v\nwant\n%+v", s.Helm, &tt.want)
			}
		})
	}
}

func TestDeriveDashboardInACommand(t *testing.T) {
	root := module(t, "ns", "base", "fix")
	s := derive(t, root, md(
		"'''bash",
		"$ kubectl apply -k ~/environment/eks-workshop/modules/m/base",
		"$ kubectl apply -k ~/environment/eks-workshop/modules/m/fix",
		`$ printf "Dashboard: https://%s/_dashboards/app/dashboards#/view/06cca640-6a05?_g=() \n" "$OPENSEARCH_HOST"`,
		"'''",
	))
	d := s.Dashboard
	if d == nil || d.ID != "06cca640-6a05" || d.Line != 4 || d.Phase != "fix" {
		t.Errorf("dashboard = %+v, want 06cca640-6a05 at line 4 in phase fix", d)
	}
}

func TestDeriveProsePairsReasonsAndMessages(t *testing.T) {
	root := module(t, "ns", "base")
	apply := []string{"'''bash", "$ kubectl apply -k ~/environment/eks-workshop/modules/m/base", "'''", ""}
	tests := []struct {
		name  string
		prose string
		want  []ProseEvent
	}{
		{"reason then message", "`web` reports `BackOff` with `Back-off restarting failed container`.",
			[]ProseEvent{{"web", "BackOff", "Back-off restarting failed container"}}},
		{"message before the reason", "The message `Back-off restarting failed container` comes with `BackOff` on `web`.",
			[]ProseEvent{{"web", "BackOff", "Back-off restarting failed container"}}},
		{"two reasons, one message each", "`web-6d988b8d84-x7k2p` has `Failed` (`Error: ErrImagePull`), then `BackOff` (`Back-off pulling image \"x\"`).",
			[]ProseEvent{{"web", "Failed", "Error: ErrImagePull"}, {"web", "BackOff", `Back-off pulling image "x"`}}},
		{"message alone", "`web` fails with `exec format error`.", []ProseEvent{{"web", "", "exec format error"}}},
		{"commands, statuses and types are not reasons or messages",
			"Run `kubectl describe pod -n ns` on `web`: it is `Pending`, a `Warning`.", nil},
		{"no workload, no claim", "`other` reports `BackOff` with `a message here`.", nil},
		{"a word that only starts like a workload", "`web-frontend` reports `BackOff`.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := derive(t, root, md(append(apply, tt.prose)...))
			var got []ProseEvent
			for _, c := range s.Claims {
				if c.Kind == KindProseEvent {
					got = append(got, c.Expect.(ProseEvent))
					if c.Line != 5 || c.Phase != "base" {
						t.Errorf("claim %s at line %d phase %q", c.Key, c.Line, c.Phase)
					}
				}
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("claims = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDeriveRiseOnlyAfterALaterPhase(t *testing.T) {
	root := module(t, "ns", "base", "fix")
	s := derive(t, root, md(
		"'''bash", "$ kubectl apply -k ~/environment/eks-workshop/modules/m/base", "'''", "",
		":::tip", "`Normal` and `Warning` before the fix make no rise.", ":::", "",
		"'''bash", "$ kubectl apply -k ~/environment/eks-workshop/modules/m/fix", "'''", "",
		"`Normal` outside an admonition makes no rise.", "",
		":::info", "Counts only go up, and no code says which: no rise.", ":::", "",
		":::tip", "", "Now `Normal` goes up, `Normal` again.", "", ":::",
	))
	var got []string
	for _, c := range s.Claims {
		got = append(got, c.Key+" "+c.Expect.(Rise).Before)
	}
	if want := []string{"rise/fix/Normal base"}; !reflect.DeepEqual(got, want) {
		t.Errorf("claims = %v, want %v", got, want)
	}
}

func TestDeriveReadsTablesByColumn(t *testing.T) {
	root := module(t, "ns", "base")
	s := derive(t, root, md(
		"'''bash", "$ kubectl apply -k ~/environment/eks-workshop/modules/m/base", "'''", "",
		"'''bash",
		"$ kubectl get pods -A",
		"NAMESPACE   NAME                    READY   STATUS             RESTARTS      AGE",
		"ns          web-6d988b8d84-x7k2p    0/1     CrashLoopBackOff   3 (10s ago)   1m",
		"other       db-0                    1/1     Running            0             1m",
		"...",
		"$ kubectl events -n ns",
		"LAST SEEN   TYPE      REASON    OBJECT                     MESSAGE",
		"<unknown>   Warning   BackOff   pod/web-6d988b8d84-x7k2p   Back-off restarting failed container web in pod web",
		"2m Normal Pulled pod/web-6d988b8d84-x7k2p Container image \"nginx\" already present",
		"'''",
	))
	var got []Expectation
	for _, c := range s.Claims {
		if c.Kind != KindApply {
			got = append(got, c.Expect)
		}
	}
	want := []Expectation{
		PodRow{Namespace: "ns", Name: "web-6d988b8d84-x7k2p", NamePrefix: "web", Ready: "0/1", Status: "CrashLoopBackOff"},
		PodRow{Namespace: "other", Name: "db-0", NamePrefix: "db-0", Ready: "1/1", Status: "Running"},
		EventRow{Namespace: "ns", Type: "Warning", Reason: "BackOff", ObjectKind: "Pod", ObjectName: "web-6d988b8d84-x7k2p", ObjectPrefix: "web",
			Message: "Back-off restarting failed container web in pod web"},
		EventRow{Namespace: "ns", Type: "Normal", Reason: "Pulled", ObjectKind: "Pod", ObjectName: "web-6d988b8d84-x7k2p", ObjectPrefix: "web",
			Message: `Container image "nginx" already present`},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("claims =\n%+v\nwant\n%+v", got, want)
	}
	if c := claimByKey(t, s, "pod-row/base/other/db-0"); c.Skip == "" {
		t.Errorf("the row in namespace other is not skipped")
	}
	if len(s.Problems) != 1 || s.Problems[0].Line != 14 {
		t.Errorf("problems = %v, want the unaligned row at line 14", s.Problems)
	}
}

func TestDeriveJSONSamples(t *testing.T) {
	root := module(t, "ns", "base")
	apply := []string{"'''bash", "$ kubectl apply -k ~/environment/eks-workshop/modules/m/base", "'''", ""}
	t.Run("an OpenSearch document", func(t *testing.T) {
		s := derive(t, root, md(append(apply,
			"'''bash",
			`$ curl -s -u "$OPENSEARCH_USER:$OPENSEARCH_PASSWORD" "https://$OPENSEARCH_HOST/eks-kubernetes-events/_search?size=1"`,
			`{"hits": {"hits": [{"_index": "eks-kubernetes-events", "_source": {`,
			`  "type": "Warning", "reason": "BackOff", "count": 2, "labels": ["a"],`,
			`  "involvedObject": {"kind": "Pod", "name": "web-6d988b8d84-x7k2p", "namespace": "ns"}, "metadata": {...}`,
			`}}]}}`,
			"'''")...))
		doc := s.Claims[len(s.Claims)-1].Expect.(EventDocument)
		want := []Field{{"count", JSONNumber}, {"involvedObject", JSONObject}, {"involvedObject.kind", JSONString},
			{"involvedObject.name", JSONString}, {"involvedObject.namespace", JSONString},
			{"labels", JSONArray}, {"labels[]", JSONString}, {"metadata", JSONObject}, {"reason", JSONString}, {"type", JSONString}}
		if !reflect.DeepEqual(doc.Fields, want) || doc.ObjectPrefix != "web" || doc.Namespace != "ns" {
			t.Errorf("document = %+v", doc)
		}
	})
	t.Run("a sample that cannot be parsed", func(t *testing.T) {
		s := derive(t, root, md(append(apply,
			"'''bash",
			"$ kubectl get events -n ns -o json | jq '.items[-1]'",
			"{",
			`  "message": "cut mid-string...`,
			"}",
			"'''")...))
		c := s.Claims[len(s.Claims)-1]
		if c.Kind != KindEventDocument || c.Skip == "" || c.Line != 7 {
			t.Errorf("claim = %+v, want a skipped document claim at line 7", c)
		}
		if len(s.Problems) != 1 || !strings.Contains(s.Problems[0].Msg, "cannot be parsed") {
			t.Errorf("problems = %v", s.Problems)
		}
	})
}

func TestDeriveNotesApplyOutputOfAnotherStory(t *testing.T) {
	root := module(t, "ns", "base")
	s := derive(t, root, md("'''bash", "$ kubectl apply -k ~/environment/eks-workshop/modules/m/base",
		"deployment.apps/web created", "service/web created", "'''"))
	if len(s.Problems) != 1 || s.Problems[0].Line != 4 {
		t.Errorf("problems = %v, want service/web at line 4", s.Problems)
	}
}

func TestNamePrefix(t *testing.T) {
	tests := map[string]string{
		"scenario-a-6d988b8d84-x7k2p": "scenario-a",
		"scenario-c-6d988b8d84":       "scenario-c",
		"events-to-opensearch-kubernetes-event-exporter-5c7f9d6b48-q2w8z": "events-to-opensearch-kubernetes-event-exporter",
		"kube-proxy-x7k2p":          "kube-proxy",
		"scenario-a":                "scenario-a",
		"kubernetes-event-exporter": "kubernetes-event-exporter",
		"db-0":                      "db-0",
		"wrong-image":               "wrong-image",
	}
	for name, want := range tests {
		if got := NamePrefix(name); got != want {
			t.Errorf("NamePrefix(%q) = %q, want %q", name, got, want)
		}
	}
}

func TestMapPath(t *testing.T) {
	tests := []struct {
		in, want string
		ok       bool
	}{
		{"~/environment/eks-workshop/modules/x", "/m/modules/x", true},
		{"$HOME/environment/eks-workshop/modules/x/", "/m/modules/x", true},
		{"${HOME}/environment/eks-workshop", "/m", true},
		{"/home/ec2-user/environment/eks-workshop/a.yaml", "/m/a.yaml", true},
		{"~/environment/eks-workshop-other/x", "~/environment/eks-workshop-other/x", false},
		{"./local", "./local", false},
	}
	for _, tt := range tests {
		got, ok := mapPath(tt.in, "/m")
		if got != tt.want || ok != tt.ok {
			t.Errorf("mapPath(%q) = %q %v, want %q %v", tt.in, got, ok, tt.want, tt.ok)
		}
	}
}
