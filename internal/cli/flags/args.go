package flags

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// NoArgs is cobra.NoArgs for eventcheck's verbs, which take flags only. It
// first looks for a flag that took another flag as its value: in
// `run --scenarios --cluster local`, --scenarios takes "--cluster" and
// "local" is left over, which cobra calls an unknown command.
func NoArgs(cmd *cobra.Command, args []string) error {
	if err := FlagTakenAsValue(cmd); err != nil {
		return err
	}
	if len(args) > 0 {
		return fmt.Errorf("unexpected argument %q: %s takes flags only (see %s --help)", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return nil
}

// FlagTakenAsValue says which flag set on cmd has the name of another of
// its flags as its value: a flag given without its value.
func FlagTakenAsValue(cmd *cobra.Command) error {
	var err error
	cmd.Flags().Visit(func(f *pflag.Flag) {
		if err != nil || f.Value.Type() == "bool" {
			return
		}
		for _, v := range strings.Fields(strings.Trim(f.Value.String(), "[]")) {
			name, ok := strings.CutPrefix(v, "--")
			if !ok {
				continue
			}
			name, _, _ = strings.Cut(name, "=")
			if cmd.Flags().Lookup(name) != nil {
				err = fmt.Errorf("--%s took %q as its value: give --%s a value before the next flag", f.Name, v, f.Name)
				return
			}
		}
	})
	return err
}
