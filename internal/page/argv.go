package page

import (
	"path/filepath"
	"regexp"
	"strings"

	"github.com/google/shlex"
)

// stages splits a command into the argv of each command of its pipeline or
// list (|, &&, ||, ;). Only the first line is read: the rest of a command
// is a here-document's body. The shell's quotes are removed and its
// variables left as written.
func stages(command string) ([][]string, error) {
	first, _, _ := strings.Cut(command, "\n")
	words, err := shlex.Split(first)
	if err != nil {
		return nil, err
	}
	var out [][]string
	var cur []string
	for _, w := range words {
		switch w {
		case "|", "&&", "||", ";":
			if len(cur) > 0 {
				out = append(out, cur)
			}
			cur = nil
		default:
			cur = append(cur, w)
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out, nil
}

// flagSpec says, for one command line tool, which flags take a value and
// the long name each short one stands for.
type flagSpec struct {
	valued map[string]bool
	short  map[string]string
}

// call is an argv read with a flagSpec.
type call struct {
	positional []string
	// flags holds the last value of each flag by long name ("" for a
	// flag without a value).
	flags map[string]string
	// uses are the flags in the order written.
	uses []flagUse
}

// flagUse is one flag of an argv.
type flagUse struct {
	name, value string
	// written is the flag as the page wrote it (with its value).
	written string
}

func (c call) has(name string) bool {
	_, ok := c.flags[name]
	return ok
}

// values are every value of a flag given more than once, in order.
func (c call) values(name string) []string {
	var out []string
	for _, u := range c.uses {
		if u.name == name {
			out = append(out, u.value)
		}
	}
	return out
}

// read reads argv[1:] as flags and positional arguments. A flag it does not
// know is taken to have no value.
func (s flagSpec) read(argv []string) call {
	c := call{flags: map[string]string{}}
	use := func(name, value, written string) {
		c.flags[name] = value
		c.uses = append(c.uses, flagUse{name: name, value: value, written: written})
	}
	for i := 1; i < len(argv); i++ {
		a := argv[i]
		if a == "--" {
			c.positional = append(c.positional, argv[i+1:]...)
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			c.positional = append(c.positional, a)
			continue
		}
		name, value, hasValue := strings.Cut(strings.TrimLeft(a, "-"), "=")
		if name == "" {
			continue
		}
		if !strings.HasPrefix(a, "--") {
			if long, ok := s.short[name[:1]]; ok && len(name) > 1 && !hasValue && s.valued[long] {
				// -ntest
				use(long, name[1:], a)
				continue
			}
			if long, ok := s.short[name]; ok {
				name = long
			}
		}
		if !hasValue && s.valued[name] && i+1 < len(argv) {
			i++
			value = argv[i]
			a += " " + value
		}
		use(name, value, a)
	}
	return c
}

var kubectlFlags = flagSpec{
	valued: set("namespace", "output", "kustomize", "filename", "selector", "field-selector",
		"sort-by", "context", "kubeconfig", "container", "for", "timeout", "template", "label-columns", "chunk-size", "types"),
	short: map[string]string{"n": "namespace", "o": "output", "k": "kustomize", "f": "filename",
		"l": "selector", "c": "container", "A": "all-namespaces", "w": "watch", "L": "label-columns"},
}

var helmFlags = flagSpec{
	valued: set("namespace", "values", "set", "set-string", "set-file", "set-json", "set-literal",
		"version", "timeout", "repo", "username", "password", "kube-context", "kubeconfig",
		"description", "post-renderer", "post-renderer-args", "ca-file", "cert-file", "key-file",
		"name-template", "output", "kube-apiserver", "kube-as-user", "kube-as-group", "kube-token",
		"kube-ca-file", "kube-tls-server-name", "registry-config", "repository-cache", "repository-config"),
	short: map[string]string{"n": "namespace", "f": "values", "o": "output", "g": "generate-name", "i": "install"},
}

func set(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// tool is the base name of a command's program (kubectl for
// /usr/local/bin/kubectl).
func tool(argv []string) string {
	if len(argv) == 0 {
		return ""
	}
	return filepath.Base(argv[0])
}

// workshopRoots are how a page writes the directory that the repository's
// manifests are mounted at in the learner's environment.
var workshopRoots = []string{
	"~/environment/eks-workshop",
	"$HOME/environment/eks-workshop",
	"${HOME}/environment/eks-workshop",
	"/home/ec2-user/environment/eks-workshop",
}

// mapPath maps a path in the learner's environment to the manifests
// directory; ok is false for a path outside it, returned as written.
func mapPath(p, manifests string) (string, bool) {
	for _, root := range workshopRoots {
		if p == root {
			return filepath.Clean(manifests), true
		}
		if rest, ok := strings.CutPrefix(p, root+"/"); ok {
			return filepath.Join(manifests, filepath.FromSlash(rest)), true
		}
	}
	return p, false
}

var envVar = regexp.MustCompile(`\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?`)

// vars are the environment variables a shell word reads.
func vars(s string) []string {
	var out []string
	for _, m := range envVar.FindAllStringSubmatch(s, -1) {
		out = append(out, m[1])
	}
	return out
}

// normalise collapses a code text's white space, so that re-wrapping a
// command does not change what identifies it.
func normalise(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
