package images

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The recipe renders with the base it is given, and the tag changes with
// any input: a changed recipe is never mistaken for a cached image.
func TestRecipeRendersAndTagsFollowInputs(t *testing.T) {
	df, err := render("opensearch/Dockerfile", struct{ Base string }{"eventcheck.local/debian-jre17:x"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"FROM eventcheck.local/debian-jre17:x\n", "USER 1000:1000", "EXPOSE 9200", "opensearch-docker-entrypoint.sh"} {
		if !strings.Contains(df, want) {
			t.Errorf("Dockerfile lacks %q:\n%s", want, df)
		}
	}
	if hash("a", "bc") == hash("ab", "c") || hash("a") != hash("a") || len(hash("a")) != 12 {
		t.Error("hash must be stable, 12 digits, and tell its parts apart")
	}
}

// The entrypoint passes settings from the environment as the official
// image's does, and binds to every interface unless told otherwise.
func TestEntrypointTurnsSettingsIntoFlags(t *testing.T) {
	home := t.TempDir()
	if err := os.MkdirAll(filepath.Join(home, "bin"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "bin", "opensearch"), []byte("#!/bin/sh\necho \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	script, err := recipes.ReadFile("opensearch/opensearch-docker-entrypoint.sh")
	if err != nil {
		t.Fatal(err)
	}
	run := func(env ...string) string {
		cmd := exec.Command("bash", "-c", string(script), "entrypoint")
		cmd.Env = append([]string{"OPENSEARCH_HOME=" + home, "PATH=/usr/bin:/bin", "OPENSEARCH_JAVA_OPTS=-Xmx1g"}, env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %s", err, out)
		}
		return strings.TrimSpace(string(out))
	}
	if got := run("discovery.type=single-node"); got != "-E network.host=0.0.0.0 -E discovery.type=single-node" {
		t.Errorf("args %q", got)
	}
	if got := run("network.host=127.0.0.1"); got != "-E network.host=127.0.0.1" {
		t.Errorf("with network.host set, args %q", got)
	}
}
