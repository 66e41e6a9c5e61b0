package page

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// hookClaim reports a block's hook by name: the workshop's runner runs
// tests/hook-NAME.sh before and after the block, and eventcheck does not
// (a hook is the workshop's own shell, for its own environment).
func (d *deriver) hookClaim(b Block) {
	name := b.Annotations.Hook
	if name == "" {
		return
	}
	script := filepath.Join(filepath.Dir(d.page.File), "tests", "hook-"+name+".sh")
	st, err := os.Stat(script)
	h := Hook{Name: name, Script: script, Exists: err == nil && st.Mode().IsRegular()}
	why := fmt.Sprintf("hook %s (%s, before and after the block) is the workshop runner's; eventcheck does not run hooks", name, script)
	if !h.Exists {
		d.problem(b.Line, "hook=%s: %s is not there, so the workshop's runner fails this block", name, script)
		why += "; the script is not there"
	}
	d.claim(Claim{Line: b.Line, Text: "hook=" + name, Context: b.Info, Skip: why, Expect: h}, name)
}

// expectErrorClaim is the claim of a command in an expectError=true block:
// its sample output is the error it shows, not a claim of its own. A
// kubectl apply -k is judged by the run's apply (refused, or kustomize
// failing first); what the run does not perform is skipped.
func (d *deriver) expectErrorClaim(c Command) {
	e := ExpectedError{Command: c.Text}
	claim := Claim{Line: c.Line, Text: c.Text, Context: c.Text}
	for _, argv := range d.stages(c) {
		k := kubectlFlags.read(argv)
		if tool(argv) != "kubectl" || len(k.positional) == 0 || k.positional[0] != "apply" || k.flags["kustomize"] == "" {
			continue
		}
		if refused, ok := d.refused[c.Line]; ok {
			e.Refused = refused
		} else if i := d.phaseIndex(c.Line + 1); i >= 0 {
			e.Phase = d.story.Phases[i].Name
		}
	}
	if e.Phase == "" && e.Refused == "" {
		first, _, _ := strings.Cut(strings.TrimSpace(c.Text), " ")
		claim.Skip = fmt.Sprintf("eventcheck does not run %s here; the page expects it to fail (expectError=true)", first)
	}
	claim.Expect = e
	d.claim(claim, normalise(c.Text))
}
