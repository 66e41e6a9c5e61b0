package exporter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	k8swait "k8s.io/apimachinery/pkg/util/wait"

	"github.com/eventcheck/eventcheck/internal/procstat"
)

// BenchmarkRSSAtStart starts the exporter process against a cluster that
// already holds startEvents events (a busy cluster keeps an hour of
// them), which it lists and exports at once, and samples its resident
// memory every 100 ms until every one is indexed. No target: the memory
// grows with the list (see docs/performance.md).
func BenchmarkRSSAtStart(b *testing.B) {
	if env.kube == nil {
		b.Skip("needs the local environment")
	}
	var peak, settled, took float64
	for b.Loop() {
		ns := fmt.Sprintf("bench-start-%d", time.Now().UnixNano())
		benchNamespace(b, ns)
		createEvents(b, ns, 0, startEvents)
		start := time.Now()
		cmd, _ := startExporterProcess(b, allToOpenSearch())
		sample := samplePeakRSS(cmd.Process.Pid)
		if err := k8swait.PollUntilContextTimeout(context.Background(), 250*time.Millisecond, 5*time.Minute, true, func(context.Context) (bool, error) {
			docs, _ := indexed(b, ns)
			return docs >= int64(startEvents), nil
		}); err != nil {
			b.Fatalf("%d events listed at start, not all indexed within 5 minutes", startEvents)
		}
		took = time.Since(start).Seconds()
		peak = sample()
		settled = procstat.MiB(procstat.RSS(cmd.Process.Pid))
	}
	b.ReportMetric(float64(startEvents), "events-at-start")
	b.ReportMetric(peak, "MiB-rss-peak")
	b.ReportMetric(settled, "MiB-rss-after")
	b.ReportMetric(took, "s-to-all-indexed")
	b.ReportMetric(0, "ns/op")
}

// startEvents is how many events the cluster holds when the exporter of
// BenchmarkRSSAtStart starts: at 500 events/s, 40 s of them.
const startEvents = 20000
