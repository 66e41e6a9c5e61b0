package cli

import (
	"flag"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"
	e2eflags "sigs.k8s.io/e2e-framework/pkg/flags"

	ecflags "github.com/eventcheck/eventcheck/internal/cli/flags"
	"github.com/eventcheck/eventcheck/internal/session"
)

// words splits a shell command line into words (quotes kept together,
// quote characters removed); enough for the commands our workflows use.
func words(line string) []string {
	var out []string
	var cur strings.Builder
	var quote rune
	in := false
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '"' || r == '\'':
			quote, in = r, true
		case r == ' ' || r == '\t' || r == '\n':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

var e2eFlagSet *flag.FlagSet

// e2eFlags is what `go test ./e2e -args` accepts: ours, e2e-framework's and
// klog's (registered on the global set by e2e-framework).
func e2eFlags(t *testing.T) func(string) bool {
	if e2eFlagSet == nil {
		e2eFlagSet = flag.NewFlagSet("e2e", flag.ContinueOnError)
		var f ecflags.Env
		f.Register(e2eFlagSet, false)
		var o session.Outputs
		o.Register(e2eFlagSet)
		e2eFlagSet.String("scenarios", "", "")
		if _, err := e2eflags.ParseArgs(nil); err != nil {
			t.Fatal(err)
		}
	}
	return func(name string) bool { return e2eFlagSet.Lookup(name) != nil || flag.CommandLine.Lookup(name) != nil }
}

func flagName(word string) (string, bool) {
	if !strings.HasPrefix(word, "-") || word == "-" || word == "--" {
		return "", false
	}
	name := strings.TrimLeft(word, "-")
	name, _, _ = strings.Cut(name, "=")
	return name, true
}

// checkRun checks one run: script; it returns what it checked and what is
// wrong.
func checkRun(t *testing.T, root *cobra.Command, script string) (checked int, problems []string) {
	for _, line := range strings.FieldsFunc(script, func(r rune) bool { return r == '\n' || r == ';' }) {
		for _, cmdline := range strings.Split(line, "&&") {
			w := words(cmdline)
			for i, word := range w {
				switch {
				case filepath.Base(word) == "eventcheck" || word == "./cmd/eventcheck":
					args := w[i+1:]
					cmd, rest, err := root.Find(args)
					if err != nil || cmd == root {
						problems = append(problems, fmt.Sprintf("%q: no such eventcheck command", strings.Join(args, " ")))
						continue
					}
					checked++
					for _, a := range rest {
						if name, ok := flagName(a); ok && cmd.Flags().Lookup(name) == nil && cmd.InheritedFlags().Lookup(name) == nil {
							problems = append(problems, fmt.Sprintf("eventcheck %s has no flag --%s", cmd.Name(), name))
						}
					}
				case word == "test" && i > 0 && w[i-1] == "go" && strings.Contains(cmdline, "./e2e"):
					checked++
					known := e2eFlags(t)
					after := false
					for _, a := range w[i+1:] {
						if a == "-args" {
							after = true
							continue
						}
						if name, ok := flagName(a); ok && after && !known(name) {
							problems = append(problems, fmt.Sprintf("go test ./e2e -args has no flag --%s", name))
						}
					}
				}
			}
		}
	}
	return checked, problems
}

type workflow struct {
	Jobs map[string]struct {
		Steps []struct {
			Run string `yaml:"run"`
		} `yaml:"steps"`
	} `yaml:"jobs"`
}

func checkWorkflow(t *testing.T, data []byte) (int, []string) {
	var wf workflow
	if err := yaml.Unmarshal(data, &wf); err != nil {
		t.Fatal(err)
	}
	root := NewRoot(slog.New(slog.DiscardHandler), new(slog.LevelVar))
	total := 0
	var problems []string
	for _, job := range wf.Jobs {
		for _, s := range job.Steps {
			n, p := checkRun(t, root, s.Run)
			total += n
			problems = append(problems, p...)
		}
	}
	return total, problems
}

// Every command and flag the workflows call exists in the CLI.
func TestWorkflowsCallRealCommandsAndFlags(t *testing.T) {
	files, _ := filepath.Glob("../../.github/workflows/*.yaml")
	examples, _ := filepath.Glob("../../examples/*.yaml")
	files = append(files, examples...)
	if len(files) < 2 {
		t.Fatalf("workflows: %v", files)
	}
	total := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		n, problems := checkWorkflow(t, data)
		total += n
		for _, p := range problems {
			t.Errorf("%s: %s", f, p)
		}
	}
	// The e2e suite (with its reports), eventcheck run and lint in the
	// example gate.
	if total < 3 {
		t.Fatalf("checked only %d invocations: the parser no longer finds them", total)
	}
}

func TestWorkflowCheckCatchesMistakes(t *testing.T) {
	_, problems := checkWorkflow(t, []byte(`
jobs:
  x:
    steps:
      - run: eventcheck run --scenario ./x --cluster kind
      - run: go test ./e2e -count=1 -args --cluster kind --opensearch-uri http://x
      - run: eventcheck deploy
`))
	want := []string{"eventcheck run has no flag --scenario", "go test ./e2e -args has no flag --opensearch-uri", `"deploy": no such eventcheck command`}
	if len(problems) != len(want) {
		t.Fatalf("problems %v, want %v", problems, want)
	}
	for i := range want {
		if problems[i] != want[i] {
			t.Errorf("problem %q, want %q", problems[i], want[i])
		}
	}
}
