// Package deploy embeds the in-cluster exporter's kustomization, so an
// installed eventcheck can deploy it without the source tree.
package deploy

import "embed"

// FS holds the kustomization and its resources.
//
//go:embed *.yaml
var FS embed.FS
