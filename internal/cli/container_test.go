package cli

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/eventcheck/eventcheck/internal/engine"
	"github.com/eventcheck/eventcheck/internal/opensearch"
	"github.com/eventcheck/eventcheck/internal/report"
)

// The OpenSearch testcontainer serves the whole story beside the local
// cluster. Where no registry answers, the image is one built here
// (eventcheck.local/opensearch) and testcontainers' reaper is off; the
// container must be gone after the run either way.
func TestStoryWithAnOpenSearchContainer(t *testing.T) {
	if testing.Short() {
		t.Skip("starts an environment; skipped with -short")
	}
	e, err := engine.Detect(context.Background())
	if err != nil {
		t.Skipf("the container path needs a container engine (docker, nerdctl or podman), and none answers: %v; 'eventcheck env engine up' starts one (.ci/run does)", err)
	}
	t.Parallel() // an environment of its own; go test runs two such at a time
	out := filepath.Join(t.TempDir(), "report.json")
	code, text := eventcheck(t, context.Background(), "run", "--cluster", "local", "--opensearch", "container", "--json", out)
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, text)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var rep report.Run
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.OpenSearch != "container" || rep.Cluster != "local" || !rep.Passed || len(rep.Results) < 20 {
		t.Fatalf("report: cluster %s, OpenSearch %s, passed %v, %d results", rep.Cluster, rep.OpenSearch, rep.Passed, len(rep.Results))
	}
	host, _ := os.Hostname()
	left, err := exec.Command(e.Binary, "ps", "--all", "--quiet", "--filter", "label="+opensearch.ContainerOwnerLabel+"="+host+"/"+strconv.Itoa(os.Getpid())).Output()
	if err != nil {
		t.Fatal(err)
	}
	if ids := strings.TrimSpace(string(left)); ids != "" {
		t.Errorf("containers left after the run: %s", ids)
	}
}
