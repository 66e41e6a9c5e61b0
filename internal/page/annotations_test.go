package page

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// A hook is the workshop runner's: each block's hook is a claim skipped by
// its name, and a hook whose script is missing is a problem at the block.
func TestDeriveReportsHooksSkippedByName(t *testing.T) {
	root := module(t, "shop", "base")
	dir := t.TempDir()
	file := filepath.Join(dir, "website/docs/mod/page.md")
	if err := os.MkdirAll(filepath.Join(filepath.Dir(file), "tests"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(filepath.Dir(file), "tests/hook-install.sh"), []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	src := md(
		"'''bash hook=install",
		"$ kubectl apply -k ~/environment/eks-workshop/modules/m/base",
		"'''",
		"",
		"'''bash hook=gone hookTimeout=30",
		"$ kubectl get pods -n shop",
		"'''",
	)
	p, err := Parse(file, src)
	if err != nil {
		t.Fatal(err)
	}
	s, err := Derive(p, root)
	if err != nil {
		t.Fatal(err)
	}
	var hooks []Claim
	for _, c := range s.Claims {
		if c.Kind == KindHook {
			hooks = append(hooks, c)
		}
	}
	if len(hooks) != 2 {
		t.Fatalf("hook claims %+v, want 2", hooks)
	}
	for i, want := range []struct {
		name   string
		line   int
		exists bool
	}{{"install", 1, true}, {"gone", 5, false}} {
		h := hooks[i].Expect.(Hook)
		if h.Name != want.name || hooks[i].Line != want.line || h.Exists != want.exists || !strings.Contains(hooks[i].Skip, "hook "+want.name) {
			t.Errorf("hook %d = %+v at line %d, skip %q; want %s at line %d, exists %v", i, h, hooks[i].Line, hooks[i].Skip, want.name, want.line, want.exists)
		}
	}
	found := false
	for _, pr := range s.Problems {
		found = found || (pr.Line == 5 && strings.Contains(pr.Msg, "hook-gone.sh"))
	}
	if !found {
		t.Errorf("no problem names the missing hook-gone.sh at line 5: %v", s.Problems)
	}
}

// In an expectError block the sample output is the error, never a claim:
// an apply is a phase that must be refused (or a kustomization that
// cannot render, which fails before the API), any other command is
// skipped with why.
func TestDeriveExpectErrorBlocks(t *testing.T) {
	root := module(t, "shop", "base", "bad")
	s := derive(t, root, md(
		"'''bash",
		"$ kubectl apply -k ~/environment/eks-workshop/modules/m/base",
		"'''",
		"",
		"'''bash expectError=true",
		"$ kubectl apply -k ~/environment/eks-workshop/modules/m/bad",
		"Error from server (Forbidden): admission webhook denied the request",
		"$ kubectl apply -k ~/environment/eks-workshop/modules/m/missing",
		"error: unable to find one of 'kustomization.yaml'",
		"$ kubectl get pods -n shop",
		"NAME   READY   STATUS",
		"web-6d988b8d84-x7k2p   1/1   Running",
		"'''",
	))
	if len(s.Phases) != 2 || !s.Phases[1].ExpectError || s.Phases[0].ExpectError {
		t.Fatalf("phases %+v: want base, then bad expecting an error", s.Phases)
	}
	var got []string
	for _, c := range s.Claims {
		switch e := c.Expect.(type) {
		case ExpectedError:
			got = append(got, e.Phase+"|"+strconv.FormatBool(e.Refused != "")+"|"+strconv.FormatBool(c.Skip != ""))
		case PodRow:
			t.Errorf("a row of an expectError block's output is a claim: %+v", c)
		}
	}
	want := []string{"bad|false|false", "|true|false", "|false|true"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("expect-error claims (phase|refused|skipped) = %v, want %v", got, want)
	}
}
