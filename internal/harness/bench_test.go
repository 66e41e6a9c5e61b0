package harness

import (
	"context"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck"
	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/opensearch"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// BenchmarkWorkshopStory runs the built-in scenario with warm caches on
// local + local, and on local + an OpenSearch container when an engine
// answers: environment up, both phases, teardown, environment down (target
// ≤ 45 s on 2 cores), and reports the slowest of the broken phase's Warning
// documents from apply to searchable (target ≤ 5 s).
func BenchmarkWorkshopStory(b *testing.B) {
	for _, osName := range []string{opensearch.Local, opensearch.Container} {
		b.Run("local+"+osName, func(b *testing.B) {
			if osName == opensearch.Container {
				if _, err := engine.Detect(context.Background()); err != nil {
					b.Skipf("an OpenSearch container needs a container engine: %v", err)
				}
			}
			benchStory(b, osName)
		})
	}
}

func benchStory(b *testing.B, osName string) {
	ctx := context.Background()
	s, err := scenario.LoadFS(eventcheck.Content, eventcheck.DefaultScenario)
	if err != nil {
		b.Fatal(err)
	}
	var total, up, warn time.Duration
	for b.Loop() {
		start := time.Now()
		env, err := Up(ctx, Options{Cluster: cluster.Local, OpenSearch: osName, PrivateClusterDir: true})
		if err != nil {
			b.Fatal(err)
		}
		up += time.Since(start)
		r, err := scenario.NewRunner(s, env.REST, env.Search, nil)
		if err != nil {
			b.Fatal(err)
		}
		res := r.Run(ctx)
		if !scenario.Passed(res) {
			b.Fatalf("story failed: %+v", res)
		}
		for _, x := range res {
			if x.Phase == "broken" && x.Kind == "document" {
				warn = max(warn, x.Elapsed)
			}
		}
		if err := r.Teardown(ctx); err != nil {
			b.Fatal(err)
		}
		if err := env.Down(ctx); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(total.Seconds()/n, "s-whole-story")
	b.ReportMetric(up.Seconds()/n, "s-environment-up")
	b.ReportMetric(warn.Seconds(), "s-slowest-warning-searchable")
	b.ReportMetric(0, "ns/op")
}
