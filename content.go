// Package eventcheck embeds the built-in content, so an installed
// eventcheck runs the workshop scenario without the source tree: the
// scenarios and the dashboards they check, at the same relative paths as
// on disk.
package eventcheck

import "embed"

// Content holds scenarios/ and fixtures/dashboards/.
//
//go:embed scenarios fixtures/dashboards
var Content embed.FS

// KindConfig is kind-config.yaml: the default kind cluster (three
// schedulable nodes, as in the workshop) where no config file is given.
//
//go:embed kind-config.yaml
var KindConfig []byte

// DefaultScenario is the built-in scenario directory inside Content.
const DefaultScenario = "scenarios/events"
