// Package logtail returns the end of a log, for error messages that carry
// the lines that explain a failure.
package logtail

import (
	"bytes"
	"os"
	"strings"
	"sync"
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

// Buffer collects a log safely from several goroutines.
type Buffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

// Bytes returns a copy of the log.
func (b *Buffer) Bytes() []byte {
	b.mu.Lock()
	defer b.mu.Unlock()
	return bytes.Clone(b.buf.Bytes())
}

// Tail returns the last n lines.
func (b *Buffer) Tail(n int) string { return Lines(string(b.Bytes()), n) }
