package container

import (
	"context"
	"os/exec"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/images"
	"github.com/eventcheck/eventcheck/internal/opensearch/internal/distribution"
)

// BenchmarkOpenSearchImage builds the base and OpenSearch images this
// provider runs where it cannot pull, cold (it removes them first; the
// distribution stays cached) and again warm.
func BenchmarkOpenSearchImage(b *testing.B) {
	ctx := context.Background()
	eng, err := engine.Detect(ctx)
	if err != nil {
		b.Skipf("building images needs a container engine: %v", err)
	}
	bld, err := images.New(ctx, "", nil)
	if err != nil {
		b.Fatal(err)
	}
	home, version, err := distribution.Fetch(ctx, "", "2.19.6", "")
	if err != nil {
		b.Fatal(err) // download outside the measurement
	}
	var baseCold, osCold, warm time.Duration
	for b.Loop() {
		if ref, err := bld.OpenSearch(ctx, home, version); err == nil {
			base, _ := bld.Base(ctx)
			_ = exec.Command(eng.Binary, "rmi", ref, base).Run()
		}
		start := time.Now()
		if _, err := bld.Base(ctx); err != nil {
			b.Fatal(err)
		}
		baseCold += time.Since(start)
		start = time.Now()
		if _, err := bld.OpenSearch(ctx, home, version); err != nil {
			b.Fatal(err)
		}
		osCold += time.Since(start)
		start = time.Now()
		if _, err := bld.OpenSearch(ctx, home, version); err != nil {
			b.Fatal(err)
		}
		warm += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(baseCold.Seconds()/n, "s-base-image-cold")
	b.ReportMetric(osCold.Seconds()/n, "s-opensearch-image-cold")
	b.ReportMetric(warm.Seconds()/n, "s-both-warm")
	b.ReportMetric(0, "ns/op")
}
