package cli

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var updateHelp = flag.Bool("update", false, "rewrite testdata/help")

// Every command's --help is pinned by a golden file, so a usage string that
// reads wrong (pflag takes `quoted` words as the value's name: "--reuse
// eventcheck env up") shows up in review.
func TestHelpGolden(t *testing.T) {
	var walk func(*cobra.Command)
	var cmds [][]string
	walk = func(c *cobra.Command) {
		if c.Hidden || c.Name() == "help" {
			return
		}
		cmds = append(cmds, strings.Fields(c.CommandPath())[1:])
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	root := NewRoot(nil, nil)
	walk(root)
	if len(cmds) < 5 {
		t.Fatalf("only %d commands found: %v", len(cmds), cmds)
	}
	for _, path := range cmds {
		name := strings.Join(append([]string{"eventcheck"}, path...), "_")
		t.Run(name, func(t *testing.T) {
			code, out := eventcheck(t, context.Background(), append(path, "--help")...)
			if code != 0 {
				t.Fatalf("exit %d\n%s", code, out)
			}
			golden := filepath.Join("testdata", "help", name+".txt")
			if *updateHelp {
				_ = os.MkdirAll(filepath.Dir(golden), 0o755)
				if err := os.WriteFile(golden, []byte(out), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test ./internal/cli -run TestHelpGolden -update)", err)
			}
			if out != string(want) {
				t.Errorf("help differs from %s (rerun with -update and review the diff):\n%s", golden, out)
			}
		})
	}
}

// No usage string may hold back-quoted words: pflag would show them as the
// flag's value name.
func TestNoFlagUsageHasBackQuotes(t *testing.T) {
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		c.LocalFlags().VisitAll(func(f *pflag.Flag) {
			if strings.Contains(f.Usage, "`") {
				t.Errorf("%s --%s: usage %q has back quotes", c.CommandPath(), f.Name, f.Usage)
			}
		})
		for _, sub := range c.Commands() {
			walk(sub)
		}
	}
	walk(NewRoot(nil, nil))
}
