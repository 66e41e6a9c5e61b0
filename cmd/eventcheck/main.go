// Command eventcheck proves that Kubernetes events reach OpenSearch and tell
// the story a person debugging a cluster needs.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/eventcheck/eventcheck/internal/cli"
	"github.com/eventcheck/eventcheck/internal/opensearch"
)

func main() {
	opensearch.ConfigureTestcontainers()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := cli.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
