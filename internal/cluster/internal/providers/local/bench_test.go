package local

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck/internal/cluster/internal/providers"
	"github.com/eventcheck/eventcheck/internal/procstat"
)

// BenchmarkUp measures a local cluster from start to ready (target ≤ 8 s on
// 2 cores) and the resident memory of all its processes once ready and
// after 10 s of settling (target ≤ 1.5 GiB).
func BenchmarkUp(b *testing.B) {
	ctx := context.Background()
	var ready time.Duration
	var rss int64
	for b.Loop() {
		dir, err := os.MkdirTemp("", "ec-bench-")
		if err != nil {
			b.Fatal(err)
		}
		p, err := New(providers.Options{Dir: dir})
		if err != nil {
			b.Fatal(err)
		}
		// Build (a no-op when cached) outside the measured time.
		b.StopTimer()
		if _, err := binary(ctx, "", nil); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if err := p.Up(ctx); err != nil {
			b.Fatal(err)
		}
		ready += time.Since(start)
		b.StopTimer()
		time.Sleep(10 * time.Second) // settle, to measure steady-state memory
		pid, _ := p.(*provider).pid()
		rss = max(rss, procstat.RSS(procstat.Descendants(pid)...))
		if err := p.Down(ctx); err != nil {
			b.Fatal(err)
		}
		os.RemoveAll(dir)
		b.StartTimer()
	}
	b.ReportMetric(ready.Seconds()/float64(b.N), "s-to-ready")
	b.ReportMetric(procstat.MiB(rss), "MiB-rss-max")
	b.ReportMetric(0, "ns/op")
}
