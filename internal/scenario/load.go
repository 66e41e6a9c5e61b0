package scenario

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/kustomize/kyaml/filesys"

	"github.com/eventcheck/eventcheck/exporter/redact"
	"github.com/eventcheck/eventcheck/internal/dashboard"
	"github.com/eventcheck/eventcheck/internal/inputfile"
	"github.com/eventcheck/eventcheck/internal/manifest"
	"github.com/eventcheck/eventcheck/internal/yamlpos"
)

// LoadOption changes how a scenario is loaded.
type LoadOption func(*loadOptions)

type loadOptions struct {
	allowOutside bool
	checksFile   string
	// builtin is the name of a built-in scenario: its files are named
	// "built-in scenario NAME, FILE", not by their embedded path, which
	// is on no disk.
	builtin string
	// resolve gives a path's real location (symlinks followed on disk).
	resolve func(string) (string, error)
}

// ChecksAt reads the checks from path instead of the scenario
// directory's checks.yaml (a gate repository keeps its checks beside a
// module it does not own); apply: paths still resolve against the
// scenario directory, the checks' other paths against path's directory.
func ChecksAt(path string) LoadOption {
	return func(o *loadOptions) { o.checksFile = path }
}

// AllowOutside lets phases apply kustomizations outside the scenario
// directory (a layout whose checks sit apart from its manifests).
func AllowOutside(allow bool) LoadOption {
	return func(o *loadOptions) { o.allowOutside = allow }
}

func options(opts []LoadOption) loadOptions {
	o := loadOptions{resolve: func(p string) (string, error) { return path.Clean(p), nil }}
	for _, opt := range opts {
		opt(&o)
	}
	return o
}

// LoadDir loads a scenario directory from disk.
func LoadDir(dir string, opts ...LoadOption) (*Scenario, error) {
	switch st, err := os.Stat(dir); {
	case errors.Is(err, fs.ErrNotExist):
		return nil, fmt.Errorf("scenario directory %s does not exist (want a directory with %s and kustomizations)", dir, ChecksFile)
	case err != nil:
		return nil, fmt.Errorf("scenario directory %s: %w", dir, err)
	case !st.IsDir():
		return nil, fmt.Errorf("scenario directory %s is a file, not a directory: give the directory that holds %s and the kustomizations (a checks file of your own goes to --checks)", dir, ChecksFile)
	}
	o := options(opts)
	o.resolve = realPath
	return load(filesys.MakeFsOnDisk(), dir, o)
}

// realPath is where a path on disk really is, symlinks followed.
func realPath(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	return filepath.EvalSymlinks(abs)
}

// LoadFS loads a scenario from an embedded tree (the built-in ones); the
// whole tree is available, so relative paths resolve as on disk.
func LoadFS(src fs.FS, dir string, opts ...LoadOption) (*Scenario, error) {
	mem := filesys.MakeFsInMemory()
	err := fs.WalkDir(src, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := fs.ReadFile(src, p)
		if err != nil {
			return err
		}
		return mem.WriteFile("/"+p, data)
	})
	if err != nil {
		return nil, fmt.Errorf("built-in scenario %s: %w", dir, err)
	}
	o := options(opts)
	o.builtin = "/" + dir
	return load(mem, "/"+dir, o)
}

// shown is how messages name a file of the scenario: its path, or for a
// built-in scenario "built-in scenario events, checks.yaml".
func (o loadOptions) shown(file string) string {
	if o.builtin == "" {
		return file
	}
	if rel, ok := strings.CutPrefix(file, o.builtin+"/"); ok {
		return fmt.Sprintf("built-in scenario %s, %s", path.Base(o.builtin), rel)
	}
	return "built-in " + strings.TrimPrefix(file, "/")
}

func load(fsys filesys.FileSystem, dir string, o loadOptions) (*Scenario, error) {
	file := path.Join(dir, ChecksFile)
	if o.checksFile != "" {
		file = o.checksFile
	}
	shown := o.shown(file)
	checksDir := path.Dir(file)
	if !fsys.Exists(file) {
		if o.checksFile != "" {
			return nil, fmt.Errorf("checks file %s does not exist (--checks)", file)
		}
		return nil, fmt.Errorf("scenario %s has no %s: want a directory with %s and kustomizations, or give --checks", o.shown(dir), ChecksFile, ChecksFile)
	}
	data, err := inputfile.ReadFS(fsys, "checks file", shown, file, inputfile.Checks)
	if err != nil {
		return nil, err
	}
	root, c, err := parseChecks(shown, data)
	if err != nil {
		return nil, err
	}
	if err := c.validate(shown, root, o); err != nil {
		return nil, err
	}
	s := &Scenario{Name: path.Base(dir), FS: fsys, Dir: dir, Checks: c, ChecksFile: shown, root: root, Objects: map[string][]*unstructured.Unstructured{}}
	if e := c.Exporter; e != nil && e.Values != "" {
		s.ExporterValues = e.Values
		if !path.IsAbs(e.Values) {
			s.ExporterValues = path.Join(checksDir, e.Values)
		}
		if !fsys.Exists(s.ExporterValues) {
			line, col := yamlpos.Find(root, "exporter.values")
			return nil, Problems{{File: shown, Line: line, Column: col, Path: "exporter.values", Message: fmt.Sprintf("%s does not exist (paths are relative to this file)", o.shown(s.ExporterValues))}}
		}
	}
	if d := c.Dashboard; d != nil {
		file := d.File
		if !path.IsAbs(file) {
			file = path.Join(checksDir, file)
		}
		data, err := inputfile.ReadFS(fsys, "dashboards export", o.shown(file), file, inputfile.Dashboards)
		if err != nil {
			return nil, fmt.Errorf("%s: dashboard.file: %w", shown, err)
		}
		f, err := dashboard.Parse(o.shown(file), bytes.NewReader(data))
		if err != nil {
			return nil, err
		}
		if s.Dashboard, err = f.Dashboard(d.ID); err != nil {
			return nil, err
		}
	}
	if err := s.render(fsys, o); err != nil {
		return nil, err
	}
	ps, warnings := s.crossCheck()
	if len(ps) > 0 {
		return nil, ps
	}
	s.Warnings = warnings
	return s, nil
}

// parseChecks reads one checks.yaml document strictly. Its messages never
// quote the file's content: a file passed by mistake (a password file as
// --checks) is said not to be a checks.yaml, with the line only.
func parseChecks(file string, data []byte) (*yaml.Node, Checks, error) {
	var c Checks
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var root yaml.Node
	switch err := dec.Decode(&root); {
	case errors.Is(err, io.EOF):
		return nil, c, fmt.Errorf("%s is empty: a checks.yaml starts with apiVersion: eventcheck.dev/v1 and kind: Checks, then namespace and phases (docs/checks.md)", file)
	case err != nil:
		return nil, c, fmt.Errorf("%s is not a checks.yaml: %s", file, syntaxError(err))
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == nil:
		return nil, c, fmt.Errorf("%s:%d: a second YAML document starts here: a checks.yaml is one document (what follows --- would be ignored)", file, next.Line)
	case !errors.Is(err, io.EOF):
		return nil, c, fmt.Errorf("%s: after its first document: %s", file, syntaxError(err))
	}
	if top := root.Content[0]; top.Kind != yaml.MappingNode {
		return nil, c, fmt.Errorf("%s:%d: not a checks.yaml: the file holds %s, not a mapping of apiVersion, kind, namespace and phases", file, top.Line, nodeKind(top))
	}
	strict := yaml.NewDecoder(bytes.NewReader(data))
	strict.KnownFields(true)
	if err := strict.Decode(&c); err != nil {
		return nil, c, fmt.Errorf("%s: %s", file, redact.YAML(err.Error()))
	}
	return &root, c, nil
}

var yamlLine = regexp.MustCompile(`line (\d+)`)

// syntaxError is a YAML syntax error by its line only: yaml's messages
// may quote the content (an anchor, a token).
func syntaxError(err error) string {
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		return "YAML syntax error at line " + m[1]
	}
	return "it is not YAML"
}

func nodeKind(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		return "a single value"
	}
	return "an alias"
}

// render renders each phase's kustomization. Unless outside paths are
// allowed, what kustomize reads must be inside the scenario directory once
// symlinks are resolved: the apply: path text is checked at validation,
// this catches a symlink pointing out and a kustomization's
// resources: ../../outside.
func (s *Scenario) render(fsys filesys.FileSystem, o loadOptions) error {
	cf := &confined{FileSystem: fsys, resolve: o.resolve}
	if !o.allowOutside {
		root, err := o.resolve(s.Dir)
		if err != nil {
			return fmt.Errorf("scenario directory %s: %w", s.Dir, err)
		}
		cf.root = root
	}
	for i, p := range s.Checks.Phases {
		cf.outside = ""
		objs, err := manifest.Render(cf, path.Join(s.Dir, p.Apply))
		if cf.outside != "" {
			where := fmt.Sprintf("phases[%d].apply", i)
			line, col := s.Position(where)
			return Problems{{File: s.ChecksFile, Line: line, Column: col, Path: where, Message: fmt.Sprintf(
				"%q reads %s, outside the scenario directory (through a symlink or a kustomization's ../ path): keep the kustomizations inside it, or allow it with --allow-outside-scenario",
				p.Apply, cf.outside)}}
		}
		if err != nil {
			return fmt.Errorf("phase %s: %w", p.Name, err)
		}
		s.Objects[p.Name] = objs
	}
	return nil
}

// confined is the file system kustomize reads a scenario's kustomizations
// through: each file at most inputfile.Manifest bytes and, with a root,
// inside it once symlinks are resolved.
type confined struct {
	filesys.FileSystem
	root    string
	resolve func(string) (string, error)
	outside string // the first file refused
}

func (c *confined) ReadFile(p string) ([]byte, error) {
	if c.root != "" {
		if real, err := c.resolve(p); err == nil && real != c.root && !strings.HasPrefix(real, strings.TrimSuffix(c.root, "/")+"/") {
			if c.outside == "" {
				c.outside = p
				if real != p {
					c.outside += " (really " + real + ")"
				}
			}
			return nil, fmt.Errorf("%s is outside the scenario directory", p)
		}
	}
	return inputfile.ReadFS(c.FileSystem, "kustomization file", p, p, inputfile.Manifest)
}

// clusterScoped kinds have no namespace: an object of another kind without
// one goes to "default".
var clusterScoped = map[string]bool{"Namespace": true, "Node": true, "ClusterRole": true, "ClusterRoleBinding": true,
	"CustomResourceDefinition": true, "PersistentVolume": true, "StorageClass": true, "PriorityClass": true, "IngressClass": true,
	"RuntimeClass": true, "APIService": true, "ValidatingWebhookConfiguration": true, "MutatingWebhookConfiguration": true}

// uses says the objects create namespace ns or put something in it.
func uses(objs []*unstructured.Unstructured, ns string) bool {
	for _, o := range objs {
		in := o.GetNamespace()
		if in == "" && !clusterScoped[o.GetKind()] {
			in = "default"
		}
		if in == ns || (o.GetKind() == "Namespace" && o.GetName() == ns) {
			return true
		}
	}
	return false
}

// crossCheck compares the checks with what the phases create, the one
// rule for lint and run (run refuses before anything starts what would
// only cost the full timeouts): a namePrefix or workload no object of the
// phase has is an error; a namespace no phase uses is a warning.
func (s *Scenario) crossCheck() (errs, warnings Problems) {
	at := func(ps *Problems, where, format string, args ...any) {
		line, col := s.Position(where)
		*ps = append(*ps, Problem{File: s.ChecksFile, Line: line, Column: col, Path: where, Message: fmt.Sprintf(format, args...)})
	}
	var all []*unstructured.Unstructured
	for _, p := range s.Checks.Phases {
		all = append(all, s.Objects[p.Name]...)
	}
	if ns := s.Checks.Namespace; !uses(all, ns) {
		at(&warnings, "namespace", "no phase creates namespace %s or puts an object in it (%s): the checks look for events there", ns, namespaces(all))
	}
	for i, p := range s.Checks.Phases {
		objs := s.Objects[p.Name]
		creates := func(prefix string) bool {
			for _, o := range objs {
				// Pods of a workload carry its name as a prefix.
				if strings.HasPrefix(o.GetName(), prefix) || strings.HasPrefix(prefix, o.GetName()) {
					return true
				}
			}
			return false
		}
		for j, d := range p.Documents {
			if d.NamePrefix != "" && !creates(d.NamePrefix) {
				at(&errs, fmt.Sprintf("phases[%d].documents[%d].namePrefix", i, j),
					"%s*: no object of phase %s has this name, so check %s could never hold", d.NamePrefix, p.Name, d.Name)
			}
			if d.Namespace != s.Checks.Namespace && !uses(objs, d.Namespace) {
				at(&warnings, fmt.Sprintf("phases[%d].documents[%d].namespace", i, j),
					"%s: phase %s uses no such namespace, where check %s looks", d.Namespace, p.Name, d.Name)
			}
		}
		for j, pc := range p.Pods {
			// The exporter's own pods come from its install, not a phase.
			if !creates(pc.NamePrefix) {
				at(&warnings, fmt.Sprintf("phases[%d].pods[%d].namePrefix", i, j),
					"%s: phase %s creates no object of this name; check %s holds only if something else runs its pods", pc.NamePrefix, p.Name, pc.Name)
			}
		}
		for j, w := range p.Workloads {
			found := false
			for _, o := range objs {
				found = found || (o.GetKind() == w.Kind && o.GetName() == w.Name)
			}
			if !found {
				at(&errs, fmt.Sprintf("phases[%d].workloads[%d].name", i, j),
					"%s %s is not created by %s (phase %s)", w.Kind, w.Name, p.Apply, p.Name)
			}
		}
	}
	return errs, warnings
}

// namespaces lists where the objects are, for the message.
func namespaces(objs []*unstructured.Unstructured) string {
	seen := map[string]bool{}
	var out []string
	for _, o := range objs {
		ns := o.GetNamespace()
		if ns == "" && clusterScoped[o.GetKind()] {
			continue
		}
		if ns == "" {
			ns = "default"
		}
		if !seen[ns] {
			seen[ns] = true
			out = append(out, strconv.Quote(ns))
		}
	}
	if len(out) == 0 {
		return "the phases create no namespaced object"
	}
	return "their objects are in " + strings.Join(out, ", ")
}

// CheckSyntax reads a checks.yaml as LoadDir does (one document, known
// fields only, values of the right types) without validating it: a file
// that adds to a derived plan may lack what only the whole plan has.
func CheckSyntax(file string, data []byte) error {
	_, _, err := parseChecks(file, data)
	return err
}
