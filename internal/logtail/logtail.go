// Package logtail returns the end of a log, for error messages that carry
// the lines that explain a failure.
package logtail

import (
	"os"
	"strings"
)

// Lines returns the last n lines of s.
func Lines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// File returns the last n lines of the file at path, or "(no log)".
func File(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "(no log)"
	}
	return Lines(string(data), n)
}
