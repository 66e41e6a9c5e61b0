// Package scenarios embeds the built-in scenarios, so an installed
// eventcheck runs them without the source tree. The directories stay plain
// kustomizations: `kubectl apply -k scenarios/events/base` works too.
package scenarios

import "embed"

// FS holds events/ (base, fix, checks.yaml).
//
//go:embed events
var FS embed.FS

// Default is the built-in scenario directory inside FS.
const Default = "events"
