// Package exitcode defines what eventcheck's exit status means, so a
// pipeline can tell a broken workshop from a broken runner.
package exitcode

import "fmt"

const (
	// Pass: every check held.
	Pass = 0
	// CheckFailed: the environment worked but a check did not hold.
	CheckFailed = 1
	// Usage: bad flags, arguments or input files (including lint errors).
	Usage = 2
	// Environment: the cluster, OpenSearch or the exporter could not be
	// brought up or reached.
	Environment = 3
	// Interrupted: Ctrl-C or SIGTERM; what the run created was removed.
	Interrupted = 130
)

// Error carries an exit code.
type Error struct {
	Code int
	Err  error
}

func (e *Error) Error() string { return e.Err.Error() }
func (e *Error) Unwrap() error { return e.Err }

// Wrap gives err an exit code (nil stays nil).
func Wrap(code int, err error) error {
	if err == nil {
		return nil
	}
	return &Error{Code: code, Err: err}
}

// Errorf formats an error with an exit code.
func Errorf(code int, format string, args ...any) error {
	return &Error{Code: code, Err: fmt.Errorf(format, args...)}
}
