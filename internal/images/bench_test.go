package images

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/engine"
)

// BenchmarkKindNodeImage builds the kind node image with the image removed
// first (the Go build cache stays warm: `make localcluster` fills it with
// Kubernetes' packages) and again warm.
func BenchmarkKindNodeImage(b *testing.B) {
	ctx := context.Background()
	bld := benchBuilder(b)
	var cold, warm time.Duration
	for b.Loop() {
		if ref, err := bld.KindNode(ctx); err == nil {
			_ = exec.Command(bld.engine.Binary, "rmi", ref).Run()
		}
		start := time.Now()
		if _, err := bld.KindNode(ctx); err != nil {
			b.Fatal(err)
		}
		cold += time.Since(start)
		start = time.Now()
		if _, err := bld.KindNode(ctx); err != nil {
			b.Fatal(err)
		}
		warm += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(cold.Seconds()/n, "s-kind-node-image-cold")
	b.ReportMetric(warm.Seconds()/n, "s-kind-node-image-warm")
	b.ReportMetric(0, "ns/op")
}

func benchBuilder(b *testing.B) *Builder {
	if _, err := engine.Detect(context.Background()); err != nil {
		b.Skipf("building images needs a container engine: %v", err)
	}
	bld, err := New(context.Background(), "", nil)
	if err != nil {
		b.Fatal(err)
	}
	return bld
}
