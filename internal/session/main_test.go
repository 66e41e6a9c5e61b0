package session

import (
	"os"
	"testing"

	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// TestMain sets up the process as cmd/eventcheck's main does:
// BenchmarkWorkshopStory starts OpenSearch containers, whose reaper's
// image no registry here serves.
func TestMain(m *testing.M) {
	opensearch.ConfigureTestcontainers()
	os.Exit(m.Run())
}
