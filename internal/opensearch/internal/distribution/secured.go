package distribution

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/eventcheck/eventcheck/internal/logtail"
	"github.com/eventcheck/eventcheck/internal/pins"
)

// installTimeout bounds opensearch-plugin install (a JVM unpacking 50 MB).
const installTimeout = 5 * time.Minute

// FetchSecured returns the home and version of a distribution with the
// security plugin installed, kept apart from the plain one (a tree with
// the plugin refuses to start without its TLS settings). version is an
// exact x.y.z ("": pins.OpenSearchSecuredVersion); zip, when given, is the
// distribution to use. The plugin is fetched with Maven at version.0 and
// installed with the distribution's own opensearch-plugin on javaHome.
func FetchSecured(ctx context.Context, cache, version, zip, javaHome string) (home, resolved string, err error) {
	if cache == "" {
		cache = DefaultCacheDir()
	}
	if err := os.MkdirAll(cache, 0o755); err != nil {
		return "", "", fmt.Errorf("OpenSearch cache directory %s: %w", cache, err)
	}
	if zip == "" {
		if version == "" {
			version = pins.OpenSearchSecuredVersion
		}
		if strings.Count(version, ".") != 2 {
			return "", "", fmt.Errorf("--opensearch-security needs an exact --opensearch-version x.y.z (the security plugin's version must equal it), not %q; default %s", version, pins.OpenSearchSecuredVersion)
		}
		if zip, err = download(ctx, cache, version); err != nil {
			return "", "", err
		}
	} else {
		if !fileExists(zip) {
			return "", "", fmt.Errorf("OpenSearch zip %s: no such file", zip)
		}
		version = strings.TrimPrefix(strings.TrimSuffix(filepath.Base(zip), ".zip"), "opensearch-")
		if strings.Count(version, ".") != 2 {
			return "", "", fmt.Errorf("OpenSearch zip %s: its name does not say its version (want opensearch-x.y.z.zip), which the security plugin's must equal", zip)
		}
	}
	home = filepath.Join(cache, "opensearch-"+version+"-security")
	if fileExists(filepath.Join(home, "plugins", "opensearch-security", "plugin-descriptor.properties")) {
		return home, version, nil
	}
	pluginVersion := version + ".0"
	plugin, err := downloadArtifact(ctx, cache, pins.SecurityPluginArtifact, pluginVersion,
		filepath.Join(cache, "opensearch-security-"+pluginVersion+".zip"))
	if errors.Is(err, ErrVersionNotFound) {
		return "", "", fmt.Errorf("%w: %s:%s:zip is not on Maven Central, and the security plugin's version must equal OpenSearch's: leave --opensearch-version out (default %s, whose plugin is served)",
			ErrVersionNotFound, pins.SecurityPluginArtifact, pluginVersion, pins.OpenSearchSecuredVersion)
	}
	if err != nil {
		return "", "", fmt.Errorf("the security plugin for OpenSearch %s: %w", version, err)
	}
	home, err = unpackAs(zip, cache, filepath.Base(home), func(tree string) error {
		return installPlugin(ctx, tree, plugin, javaHome)
	})
	return home, version, err
}

// installPlugin runs the distribution's opensearch-plugin install on a
// plugin zip: the same checks (version, permissions) as a person's install.
func installPlugin(ctx context.Context, home, plugin, javaHome string) error {
	ctx, cancel := context.WithTimeout(ctx, installTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, filepath.Join(home, "bin", "opensearch-plugin"), "install", "--batch", "file://"+plugin)
	cmd.Env = append(CleanEnv(), "OPENSEARCH_JAVA_HOME="+javaHome, "JAVA_HOME="+javaHome)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("installing the security plugin %s took longer than %s", plugin, installTimeout)
		}
		return fmt.Errorf("failed to install the security plugin %s into %s (%v):\n%s", plugin, home, err, logtail.Lines(out.String(), 15))
	}
	return nil
}

// CleanEnv is this process's environment without the variables that would
// make OpenSearch's scripts pick another JDK or config.
func CleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		switch strings.SplitN(kv, "=", 2)[0] {
		case "JAVA_HOME", "OPENSEARCH_JAVA_HOME", "OPENSEARCH_PATH_CONF", "OPENSEARCH_JAVA_OPTS", "JAVA_TOOL_OPTIONS", "OPENSEARCH_TMPDIR":
			continue
		}
		env = append(env, kv)
	}
	return env
}
