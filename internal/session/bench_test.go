package session

import (
	"context"
	"testing"
	"time"

	"github.com/eventcheck/eventcheck"
	"github.com/eventcheck/eventcheck/internal/cluster"
	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/harness"
	"github.com/eventcheck/eventcheck/internal/opensearch"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// BenchmarkWorkshopStory runs the built-in scenario with warm caches on
// local + local, and on local + an OpenSearch container and kind + an
// OpenSearch container (the design card's path) when an engine answers: environment up, both phases, teardown, environment down (target
// ≤ 45 s on 2 cores), and reports the slowest of the broken phase's Warning
// documents from apply to searchable (target ≤ 5 s).
func BenchmarkWorkshopStory(b *testing.B) {
	for _, env := range [][2]string{{cluster.Local, opensearch.Local}, {cluster.Local, opensearch.Container}, {cluster.Kind, opensearch.Container}} {
		b.Run(env[0]+"+"+env[1], func(b *testing.B) {
			if env[1] == opensearch.Container {
				if _, err := engine.Detect(context.Background()); err != nil {
					b.Skipf("an OpenSearch container needs a container engine: %v", err)
				}
			}
			benchStory(b, env[0], env[1])
		})
	}
}

func benchStory(b *testing.B, clusterName, osName string) {
	ctx := context.Background()
	s, err := scenario.LoadFS(eventcheck.Content, eventcheck.DefaultScenario)
	if err != nil {
		b.Fatal(err)
	}
	var total, up, warn time.Duration
	for b.Loop() {
		start := time.Now()
		sess, err := Start(ctx, Config{Scenario: s, Env: harness.Options{Cluster: clusterName, OpenSearch: osName, PrivateClusterDir: true}})
		if err != nil {
			b.Fatal(err)
		}
		up += time.Since(start)
		res := sess.Run(ctx)
		if err := sess.Finish(ctx); err != nil {
			b.Fatal(err)
		}
		if err := sess.Verdict(ctx); err != nil {
			b.Fatalf("story failed: %v: %+v", err, res)
		}
		for _, x := range res {
			if x.Phase == "broken" && x.Kind == scenario.KindDocument {
				warn = max(warn, x.Elapsed)
			}
		}
		total += time.Since(start)
	}
	n := float64(b.N)
	b.ReportMetric(total.Seconds()/n, "s-whole-story")
	b.ReportMetric(up.Seconds()/n, "s-environment-up")
	b.ReportMetric(warn.Seconds(), "s-slowest-warning-searchable")
	b.ReportMetric(0, "ns/op")
}
