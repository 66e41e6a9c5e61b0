package scenario

import (
	"fmt"
	"strings"
)

// Problem is one thing wrong in a checks.yaml, where it is and what to do.
type Problem struct {
	File         string
	Line, Column int
	// Path is the field, such as phases[0].documents[1].timeout.
	Path    string
	Message string
}

func (p Problem) Error() string {
	return fmt.Sprintf("%s:%d:%d: %s: %s", p.File, p.Line, p.Column, p.Path, p.Message)
}

// Problems are all that is wrong in one file, in file order.
type Problems []Problem

func (ps Problems) Error() string {
	msgs := make([]string, len(ps))
	for i, p := range ps {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "\n")
}
