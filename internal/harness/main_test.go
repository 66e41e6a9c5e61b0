package harness

import (
	"os"
	"testing"

	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// TestMain sets up the process as cmd/eventcheck's main does: the
// benchmarks start OpenSearch containers.
func TestMain(m *testing.M) {
	opensearch.ConfigureTestcontainers()
	os.Exit(m.Run())
}
