package local

import (
	"context"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/opensearch/internal/providers"
	"github.com/eventcheck/eventcheck/internal/procstat"
)

// BenchmarkStart measures local OpenSearch from start to healthy with a
// cached distribution (target ≤ 25 s on 2 cores) and the JVM's resident
// memory with the 512m heap after indexing has settled (target ≤ 1 GiB).
func BenchmarkStart(b *testing.B) {
	b.Run("plain", func(b *testing.B) { benchmarkStart(b, providers.Options{}) })
	// With the security plugin: TLS, the security index made at start.
	b.Run("secured", func(b *testing.B) { benchmarkStart(b, providers.Options{Security: true}) })
}

func benchmarkStart(b *testing.B, o providers.Options) {
	ctx := context.Background()
	if _, _, err := Prepare(ctx, o); err != nil {
		b.Fatal(err) // download outside the measurement
	}
	var healthy time.Duration
	var rss float64
	for b.Loop() {
		p, err := New(o)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if _, err := p.Start(ctx); err != nil {
			b.Fatal(err)
		}
		healthy += time.Since(start)
		b.StopTimer()
		time.Sleep(5 * time.Second) // settle, to measure steady-state memory
		rss = max(rss, procstat.MiB(procstat.RSS(p.(*provider).Pid())))
		if err := p.Stop(ctx); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
	b.ReportMetric(healthy.Seconds()/float64(b.N), "s-to-healthy")
	b.ReportMetric(rss, "MiB-rss")
	b.ReportMetric(0, "ns/op")
}
