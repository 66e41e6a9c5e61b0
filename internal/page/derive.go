package page

import (
	"errors"
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/eventcheck/eventcheck/internal/manifest"
)

// Derive reads the story a page tells. manifests is the workshop
// repository's manifests directory, which the learner's
// ~/environment/eks-workshop stands for: each kubectl apply -k directory is
// rendered from it with kustomize, so the story knows the workloads and
// namespaces it creates. Blocks marked test=false are neither phases nor
// claims (the workshop harness does not run them), nor is their helm
// install the story's.
//
// A phase whose kustomization does not render stops the derivation: without
// its objects no claim can be told apart from one about another story.
func Derive(p *Page, manifests string) (*Story, error) {
	d := &deriver{page: p, manifests: manifests, refused: map[int]string{}, story: &Story{
		File: p.File, Lang: p.Lang, Path: p.Path, Manifests: manifests,
	}}
	for _, b := range p.Blocks {
		if !b.Annotations.Test {
			continue
		}
		for _, c := range b.Commands {
			d.storyCommand(b, c)
		}
	}
	if len(d.fatal) > 0 {
		return nil, errors.Join(d.fatal...)
	}
	d.scope()
	for _, b := range p.Blocks {
		if !b.Annotations.Test {
			continue
		}
		d.hookClaim(b)
		d.block = b
		for _, c := range b.Commands {
			if b.Annotations.ExpectError {
				d.expectErrorClaim(c)
				continue
			}
			d.outputClaims(c)
		}
	}
	for _, u := range p.Prose {
		d.proseClaims(u)
	}
	d.dashboard()
	d.keys()
	return d.story, nil
}

type deriver struct {
	page      *Page
	manifests string
	story     *Story
	fatal     []error
	// argv caches each command's stages, read once.
	argv map[int][][]string
	// block is the block whose output claims are being read.
	block Block
	// refused are the applies of expectError blocks whose kustomization
	// does not render, by line, with kustomize's error.
	refused map[int]string
}

func (d *deriver) problem(line int, format string, args ...any) {
	d.story.Problems = append(d.story.Problems, &Error{File: d.page.File, Line: line, Msg: fmt.Sprintf(format, args...)})
}

func (d *deriver) stages(c Command) [][]string {
	if d.argv == nil {
		d.argv = map[int][][]string{}
	}
	if s, ok := d.argv[c.Line]; ok {
		return s
	}
	s, err := stages(c.Text)
	if err != nil {
		d.problem(c.Line, "the command cannot be split into words (%v): it makes no phase or claim", err)
	}
	d.argv[c.Line] = s
	return s
}

// storyCommand reads the commands that make the story rather than claims about
// it: phases and the Helm install.
func (d *deriver) storyCommand(b Block, c Command) {
	for _, argv := range d.stages(c) {
		switch tool(argv) {
		case "kubectl":
			k := kubectlFlags.read(argv)
			if len(k.positional) > 0 && k.positional[0] == "apply" && k.flags["kustomize"] != "" {
				d.phase(b, c, k.flags["kustomize"])
			}
		case "helm":
			d.helm(c, argv)
		}
	}
}

func (d *deriver) phase(b Block, c Command, pageDir string) {
	dir, mapped := mapPath(pageDir, d.manifests)
	if !mapped {
		d.problem(c.Line, "kubectl apply -k %s is not under ~/environment/eks-workshop: read as written", pageDir)
	}
	objs, err := manifest.Render(filesys.MakeFsOnDisk(), dir)
	if err != nil && b.Annotations.ExpectError {
		// The block expects kubectl to fail, and kustomize already does.
		d.refused[c.Line] = err.Error()
		return
	}
	if err != nil {
		d.fatal = append(d.fatal, &Error{File: d.page.File, Line: c.Line,
			Msg: fmt.Sprintf("kubectl apply -k %s: the kustomization at %s does not render", pageDir, dir), Err: err})
		return
	}
	ph := Phase{Name: filepath.Base(filepath.Clean(dir)), Dir: dir, PageDir: pageDir, Timeout: b.Annotations.Timeout, Line: c.Line,
		ExpectError: b.Annotations.ExpectError}
	for _, o := range objs {
		ph.Objects = append(ph.Objects, Object{APIVersion: o.GetAPIVersion(), Kind: o.GetKind(), Namespace: o.GetNamespace(), Name: o.GetName()})
	}
	d.story.Phases = append(d.story.Phases, ph)
}

func (d *deriver) helm(c Command, argv []string) {
	h := helmFlags.read(argv)
	pos := h.positional
	if len(pos) == 0 {
		return
	}
	install := pos[0] == "install" || (pos[0] == "upgrade" && h.has("install"))
	if !install {
		return
	}
	if d.story.Helm != nil {
		d.problem(c.Line, "a second helm install: the story's exporter is the one at line %d", d.story.Helm.Line)
		return
	}
	in := &HelmInstall{Namespace: h.flags["namespace"], Version: h.flags["version"], Line: c.Line, Phase: d.phaseAt(c.Line)}
	args := pos[1:]
	if h.has("generate-name") {
		args = append([]string{""}, args...)
	}
	if len(args) < 2 {
		d.problem(c.Line, "helm %s needs a release and a chart", pos[0])
		return
	}
	in.Release, in.Chart = args[0], args[1]
	if chart, ok := mapPath(in.Chart, d.manifests); ok {
		in.Chart = chart
	}
	for _, v := range h.values("values") {
		mapped, _ := mapPath(v, d.manifests)
		in.Values = append(in.Values, mapped)
	}
	for _, u := range h.uses {
		switch u.name {
		case "set", "set-string", "set-json", "set-file", "set-literal":
			in.Set = append(in.Set, HelmSet{Flag: u.name, Raw: u.value, Vars: vars(u.value)})
		case "namespace", "values", "version", "create-namespace", "wait", "install", "generate-name":
		default:
			in.Other = append(in.Other, u.written)
		}
	}
	in.CreateNamespace = h.has("create-namespace") && h.flags["create-namespace"] != "false"
	in.Wait = h.has("wait") && h.flags["wait"] != "false"
	d.story.Helm = in
}

// phaseAt is the phase applied last before a page line, "" when none is.
func (d *deriver) phaseAt(line int) string {
	i := d.phaseIndex(line)
	if i < 0 {
		return ""
	}
	return d.story.Phases[i].Name
}

func (d *deriver) phaseIndex(line int) int {
	at := -1
	for i, ph := range d.story.Phases {
		if ph.Line < line {
			at = i
		}
	}
	return at
}

// podOwners are the kinds whose names a pod's name starts with.
var podOwners = []string{"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}

// scope collects the workloads and namespaces the story creates.
func (d *deriver) scope() {
	workloads, namespaces := map[string]bool{}, map[string]bool{}
	for _, ph := range d.story.Phases {
		for _, o := range ph.Objects {
			switch {
			case o.Kind == "Namespace":
				namespaces[o.Name] = true
			case o.Namespace != "":
				namespaces[o.Namespace] = true
			}
			if slices.Contains(podOwners, o.Kind) {
				workloads[o.Name] = true
			}
		}
	}
	if h := d.story.Helm; h != nil && h.Namespace != "" {
		namespaces[h.Namespace] = true
	}
	d.story.Workloads = sortedKeys(workloads)
	d.story.Namespaces = sortedKeys(namespaces)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// skipNamespace is why a claim about ns is not checked, "" when it is.
func (d *deriver) skipNamespace(ns string) string {
	if ns == "" || slices.Contains(d.story.Namespaces, ns) {
		return ""
	}
	return fmt.Sprintf("the page's story does not create namespace %s", ns)
}

// claim adds a claim, keyed by the code parts that identify its subject.
func (d *deriver) claim(c Claim, keyParts ...string) {
	c.File = d.page.File
	c.Phase = d.phaseAt(c.Line)
	c.Kind = c.Expect.kind()
	c.Key = key(c.Kind, c.Phase, keyParts...)
	if c.Wait == 0 {
		c.Wait = d.block.Annotations.Wait
	}
	d.story.Claims = append(d.story.Claims, c)
}

var dashboardView = regexp.MustCompile(`dashboards#/view/([^?&\s"'\\)]+)`)

// urlAround is the URL a dashboard view is in, in a command's text.
var urlAround = regexp.MustCompile(`\S*dashboards#/view/[^\s"'\\]+`)

// dashboard finds the page's first link to a dashboard: a markdown link,
// or a URL in a command or a code span (the workshop's page prints it with
// printf, as the host is the learner's own).
func (d *deriver) dashboard() {
	type candidate struct {
		url  string
		line int
	}
	var found []candidate
	for _, l := range d.page.Links {
		if dashboardView.MatchString(l.URL) {
			found = append(found, candidate{l.URL, l.Line})
		}
	}
	for _, b := range d.page.Blocks {
		for _, c := range b.Commands {
			if u := urlAround.FindString(c.Text); u != "" {
				found = append(found, candidate{u, c.Line})
			}
		}
	}
	for _, u := range d.page.Prose {
		for _, s := range u.Code {
			if u := urlAround.FindString(s.Text); u != "" {
				found = append(found, candidate{u, s.Line})
			}
		}
	}
	if len(found) == 0 {
		return
	}
	first := slices.MinFunc(found, func(a, b candidate) int { return a.line - b.line })
	link := &DashboardLink{ID: dashboardView.FindStringSubmatch(first.url)[1], URL: first.url, Line: first.line, Phase: d.phaseAt(first.line)}
	if link.Phase == "" && len(d.story.Phases) > 0 {
		link.Phase = d.story.Phases[0].Name
	}
	d.story.Dashboard = link
}

// keys puts the claims in page order and numbers repeated keys (#2, #3 in
// page order), which a translation repeats in the same order.
func (d *deriver) keys() {
	sort.SliceStable(d.story.Claims, func(i, j int) bool { return d.story.Claims[i].Line < d.story.Claims[j].Line })
	seen := map[string]int{}
	for i := range d.story.Claims {
		c := &d.story.Claims[i]
		seen[c.Key]++
		if n := seen[c.Key]; n > 1 {
			c.Key = fmt.Sprintf("%s#%d", c.Key, n)
		}
	}
}

// key joins the parts that identify a claim's subject.
func key(kind ClaimKind, phase string, parts ...string) string {
	if phase == "" {
		phase = "-"
	}
	return string(kind) + "/" + phase + "/" + strings.Join(parts, "/")
}
