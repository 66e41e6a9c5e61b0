// Package cli is the eventcheck command line: a root command, exit codes
// that tell a broken workshop from a broken runner, and one package per verb.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"

	"github.com/eventcheck/eventcheck/internal/cli/env"
	"github.com/eventcheck/eventcheck/internal/cli/exitcode"
	"github.com/eventcheck/eventcheck/internal/cli/lint"
	"github.com/eventcheck/eventcheck/internal/cli/page"
	"github.com/eventcheck/eventcheck/internal/cli/run"
)

// NewRoot returns the root command with every verb.
func NewRoot(log *slog.Logger, level *slog.LevelVar) *cobra.Command {
	var verbose bool
	root := &cobra.Command{
		Use:           "eventcheck",
		Short:         "Prove that Kubernetes events reach OpenSearch and tell the story",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.PersistentFlags().BoolVarP(&verbose, "verbose", "v", false, "debug logs")
	root.PersistentPreRun = func(*cobra.Command, []string) {
		if verbose {
			level.Set(slog.LevelDebug)
		}
	}
	root.AddCommand(env.Command(log), run.Command(log), lint.Command(log), page.Command(log))
	return root
}

// Main runs the command line and returns the process exit code.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	level := new(slog.LevelVar)
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	root := NewRoot(log, level)
	root.SetArgs(args)
	root.SetOut(stdout)
	root.SetErr(stderr)

	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitcode.Pass
	}
	fmt.Fprintln(stderr, "Error:", err)
	var coded *exitcode.Error
	if errors.As(err, &coded) {
		return coded.Code
	}
	if ctx.Err() != nil {
		return exitcode.Interrupted
	}
	// cobra's own errors are about flags and arguments.
	return exitcode.Usage
}
