// Package yamlpos finds where a field is in a YAML document, by the path
// a person writes (phases[0].documents[1].timeout), so that every problem
// eventcheck reports in a file points at its line and column.
package yamlpos

import (
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Find finds a field path (a.b[2].c) in a YAML document: the line and
// column of its value, or of the nearest enclosing node that is there (a
// defaulted field has no line of its own).
func Find(root *yaml.Node, path string) (line, col int) {
	n := root
	if n != nil && n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n == nil {
		return 0, 0
	}
	line, col = n.Line, n.Column
	for _, part := range strings.Split(path, ".") {
		key, rest, _ := strings.Cut(part, "[")
		if n = Child(n, key); n == nil {
			return line, col
		}
		line, col = n.Line, n.Column
		for rest != "" {
			idx, after, _ := strings.Cut(rest, "]")
			rest = strings.TrimPrefix(after, "[")
			i, err := strconv.Atoi(idx)
			if err != nil || n.Kind != yaml.SequenceNode || i >= len(n.Content) {
				return line, col
			}
			n = n.Content[i]
			line, col = n.Line, n.Column
		}
	}
	return line, col
}

// Child is the value of key in a mapping node (nil if absent).
func Child(n *yaml.Node, key string) *yaml.Node {
	if key == "" {
		return n
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}
