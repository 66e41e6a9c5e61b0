// Package engine finds a running container engine. A container CLI on the
// PATH is not enough: machines often have the docker client without an
// engine, so this asks the engine itself.
package engine

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os/exec"
	"strings"
	"time"

	"github.com/eventcheck/eventcheck/internal/logtail"
)

// Engine is a reachable container engine.
type Engine struct {
	// Binary is the CLI that reached it: docker, podman or nerdctl.
	Binary  string
	Version string
}

// ErrNoEngine says no container engine answered.
var ErrNoEngine = errors.New("no container engine is reachable")

// probeTimeout bounds each engine probe: a dead socket must not hang a run.
const probeTimeout = 10 * time.Second

// Detect returns the first engine that answers, in kind's order of
// preference (docker, nerdctl, podman). The error says what was tried.
func Detect(ctx context.Context) (*Engine, error) {
	var tried []string
	for _, bin := range []string{"docker", "nerdctl", "podman"} {
		if _, err := exec.LookPath(bin); err != nil {
			continue
		}
		e, err := probe(ctx, bin)
		if err == nil {
			return e, nil
		}
		tried = append(tried, err.Error())
	}
	if len(tried) == 0 {
		return nil, fmt.Errorf("%w: none of docker, nerdctl, podman is installed", ErrNoEngine)
	}
	return nil, fmt.Errorf("%w: %s", ErrNoEngine, strings.Join(tried, "; "))
}

func probe(ctx context.Context, bin string) (*Engine, error) {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, bin, "version", "--format", "{{.Server.Version}}").CombinedOutput()
	msg := strings.TrimSpace(string(out))
	if err != nil || msg == "" {
		if i := strings.LastIndex(msg, "\n"); i >= 0 {
			msg = msg[i+1:]
		}
		return nil, fmt.Errorf("%s is installed but its engine does not answer (%v: %s)", bin, err, msg)
	}
	return &Engine{Binary: bin, Version: msg}, nil
}

// Missing returns those of refs the engine does not hold locally.
func (e *Engine) Missing(ctx context.Context, refs ...string) []string {
	var out []string
	for _, ref := range refs {
		ctx, cancel := context.WithTimeout(ctx, probeTimeout)
		err := exec.CommandContext(ctx, e.Binary, "image", "inspect", ref).Run()
		cancel()
		if err != nil {
			out = append(out, ref)
		}
	}
	return out
}

// Privileged says why the engine cannot start a privileged container (as
// kind's nodes are) from image, which it must hold; nil when it can. A host
// whose capability bounding set lacks one (a container itself) refuses
// with "unable to apply caps".
func (e *Engine) Privileged(ctx context.Context, image string) error {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, e.Binary, "run", "--rm", "--privileged", "--entrypoint", "true", image).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s run --privileged %s: %v: %s", e.Binary, image, err, logtail.Lines(strings.TrimSpace(string(out)), 3))
	}
	return nil
}

// RegistryURL is where images are pulled from by default (Docker Hub).
var RegistryURL = "https://registry-1.docker.io/v2/"

// RegistryAnswers reports whether the default registry answers at all
// (any HTTP status: an unauthenticated 401 is an answer), within a bound.
func RegistryAnswers(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, RegistryURL, nil)
	if err != nil {
		return false
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false
	}
	resp.Body.Close()
	return true
}
