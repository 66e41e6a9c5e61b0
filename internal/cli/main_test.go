package cli

import (
	"os"
	"testing"

	"github.com/eventcheck/eventcheck/internal/opensearch"
)

// TestMain sets up the process as cmd/eventcheck's main does.
func TestMain(m *testing.M) {
	opensearch.ConfigureTestcontainers()
	os.Exit(m.Run())
}
