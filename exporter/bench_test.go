package exporter_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/eventcheck/eventcheck/exporter/document"
	"github.com/eventcheck/eventcheck/exporter/metrics"
	"github.com/eventcheck/eventcheck/exporter/osclient"
	"github.com/eventcheck/eventcheck/exporter/sink"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/procstat"
)

func benchDocs(n int, index string) []*document.Document {
	docs := make([]*document.Document, n)
	for i := range docs {
		uid := fmt.Sprintf("bench-%d-%d", time.Now().UnixNano(), i)
		docs[i] = &document.Document{UID: uid, ID: uid, Index: index,
			Body: []byte(fmt.Sprintf(`{"metadata":{"uid":%q,"namespace":"bench"},"type":"Normal","reason":"Bench","message":"event %d","lastTimestamp":%q}`,
				uid, i, time.Now().UTC().Format(time.RFC3339)))}
	}
	return docs
}

// BenchmarkThroughput compares our bulk sink with one request per document
// (how the upstream exporter writes), one sender each, on the local
// OpenSearch. Target: bulk ≥ 10× single.
func BenchmarkThroughput(b *testing.B) {
	if env.kube == nil {
		b.Skip("needs the local environment")
	}
	ctx := context.Background()
	const n = 5000
	client, err := osclient.New(ctx, osclient.Config{Hosts: []string{env.osURL}, DisableRetry: true})
	if err != nil {
		b.Fatal(err)
	}
	var bulkRate, singleRate, bulkCPU, singleCPU float64
	for b.Loop() {
		m := metrics.New()
		s := sink.New(sink.Config{Client: client, Where: env.osURL, MaxDocs: 500, MaxBytes: 5 << 20, FlushInterval: 250 * time.Millisecond, MaxPending: 100000, Metrics: m})
		sctx, cancel := context.WithCancel(ctx)
		go s.Run(sctx)
		start, cpu0 := time.Now(), busyCPUSeconds()
		for _, d := range benchDocs(n, "bench-bulk") {
			_ = s.Put(ctx, d)
		}
		for s.Pending() > 0 {
			time.Sleep(5 * time.Millisecond)
		}
		bulkRate = n / time.Since(start).Seconds()
		bulkCPU = n / (busyCPUSeconds() - cpu0)
		cancel()

		docs := benchDocs(n/5, "bench-single")
		start, cpu0 = time.Now(), busyCPUSeconds()
		for _, d := range docs {
			if _, err := client.Index(ctx, opensearchapi.IndexReq{Index: d.Index, DocumentID: d.ID, Body: bytes.NewReader(d.Body)}); err != nil {
				b.Fatal(err)
			}
		}
		singleRate = float64(len(docs)) / time.Since(start).Seconds()
		singleCPU = float64(len(docs)) / (busyCPUSeconds() - cpu0)
	}
	b.ReportMetric(bulkRate, "bulk-docs/s")
	b.ReportMetric(singleRate, "single-docs/s")
	b.ReportMetric(bulkCPU, "bulk-docs/cpu-s")
	b.ReportMetric(singleCPU, "single-docs/cpu-s")
	b.ReportMetric(bulkCPU/singleCPU, "speedup-at-equal-cpu")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkEventToSearchable measures from creating an event in the API to
// its document being found by a search, with the default 1 s refresh.
// Target: p99 ≤ 1.2 s.
func BenchmarkEventToSearchable(b *testing.B) {
	if env.kube == nil {
		b.Skip("needs the local environment")
	}
	waitReady(b, runExporter(b, exporterConfig(b)), true)
	ctx := context.Background()
	var lat []time.Duration
	for b.Loop() {
		ns := fmt.Sprintf("bench-latency-%d", time.Now().UnixNano())
		namespace(b, ns)
		const n = 100
		created := make([]time.Time, n)
		seen := make([]time.Time, n)
		done := make(chan struct{})
		go func() { // poll searches, as a dashboard would
			defer close(done)
			found := 0
			for found < n {
				docs, err := env.search.Search(ctx, eventindex.Query{}.And(eventindex.Term("metadata.namespace", ns)), 1000)
				if err == nil {
					now := time.Now()
					for _, d := range docs {
						i, _ := strconv.Atoi(strings.TrimPrefix(d.Event.Message, "event "))
						if seen[i].IsZero() {
							seen[i] = now
							found++
						}
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		for i := range n {
			created[i] = time.Now()
			if _, err := createEvent(ctx, ns, i); err != nil {
				b.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond) // a steady stream, not one burst
		}
		<-done
		for i := range n {
			lat = append(lat, seen[i].Sub(created[i]))
		}
	}
	slices.Sort(lat)
	b.ReportMetric(lat[len(lat)/2].Seconds(), "p50-s")
	b.ReportMetric(lat[len(lat)*99/100].Seconds(), "p99-s")
	b.ReportMetric(0, "ns/op")
}

// BenchmarkRSS drives events as fast as the local API takes them (target
// 1,000/s) through the exporter process, then keeps a stream going during a
// 60 s OpenSearch outage, sampling the exporter's resident memory.
// Target: ≤ 64 MiB, flat apart from pending events.
func BenchmarkRSS(b *testing.B) {
	if env.kube == nil {
		b.Skip("needs the local environment")
	}
	cfgPath := filepath.Join(b.TempDir(), "config.yaml")
	_ = os.WriteFile(cfgPath, []byte(fmt.Sprintf("route: {routes: [{match: [{receiver: os}]}]}\nreceivers: [{name: os, opensearch: {hosts: [%q], index: eks-kubernetes-events}}]\n", env.osURL)), 0o644)
	port, _ := freePort()
	cmd := exec.Command(env.exporter, "-conf", cfgPath, "-kubeconfig", env.saFile, "-metrics-address", fmt.Sprintf("127.0.0.1:%d", port))
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ctx := context.Background()
	var peak, beforeOutage, afterOutage float64
	var rate float64
	for b.Loop() {
		ns := fmt.Sprintf("bench-rss-%d", time.Now().UnixNano())
		namespace(b, ns)
		var sent atomic.Int64
		drive := func(d time.Duration, perSecond int) {
			deadline := time.Now().Add(d)
			var wg sync.WaitGroup
			for range 16 {
				wg.Go(func() {
					tick := time.NewTicker(time.Second * 16 / time.Duration(perSecond))
					defer tick.Stop()
					for time.Now().Before(deadline) {
						<-tick.C
						_, _ = createEvent(ctx, ns, int(sent.Add(1)))
					}
				})
			}
			wg.Wait()
		}
		sample := func(d time.Duration) float64 {
			var m float64
			for end := time.Now().Add(d); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
				m = max(m, procstat.MiB(procstat.RSS(cmd.Process.Pid)))
			}
			return m
		}
		start := time.Now()
		var hot float64
		done := make(chan struct{})
		go func() { hot = sample(20 * time.Second); close(done) }()
		drive(20*time.Second, 1000)
		<-done
		rate = float64(sent.Load()) / time.Since(start).Seconds()
		peak = max(peak, hot)
		beforeOutage = procstat.MiB(procstat.RSS(cmd.Process.Pid))
		_ = env.server.Stop(ctx)
		sampled := make(chan struct{})
		go func() { afterOutage = sample(60 * time.Second); close(sampled) }()
		drive(60*time.Second, 20)
		<-sampled
		_, _ = env.server.Start(ctx)
		_ = wait.PollUntilContextTimeout(ctx, time.Second, 2*time.Minute, true, func(context.Context) (bool, error) {
			docs, _ := indexed(b, ns)
			return docs >= sent.Load(), nil
		})
	}
	b.ReportMetric(rate, "events/s")
	b.ReportMetric(peak, "MiB-rss-peak")
	b.ReportMetric(beforeOutage, "MiB-rss-before-outage")
	b.ReportMetric(afterOutage, "MiB-rss-max-during-60s-outage")
	b.ReportMetric(0, "ns/op")
}

// busyCPUSeconds is the machine's non-idle CPU time so far (all processes:
// OpenSearch, the exporter, this test), from /proc/stat.
func busyCPUSeconds() float64 {
	data, err := os.ReadFile("/proc/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(strings.SplitN(string(data), "\n", 2)[0])[1:]
	var busy float64
	for i, v := range f {
		n, _ := strconv.ParseFloat(v, 64)
		if i != 3 && i != 4 { // idle, iowait
			busy += n
		}
	}
	return busy / 100 // USER_HZ
}
