package check

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// document waits for documents that match a check to be searchable.
func document(ctx context.Context, r *Runner, phase string, d scenario.DocumentCheck) Result {
	applied := r.appliedAt(phase)
	// Core events carry whole seconds: look from the applied second.
	m := d.Match(applied.Truncate(time.Second))
	var last *eventindex.Result
	var lastErr error
	held, err := until(ctx, r.deadline(phase, d.Timeout), func(ctx context.Context) (bool, error) {
		res, err := r.env.Search.Find(ctx, m)
		if err != nil && ctx.Err() != nil {
			return false, nil // the deadline is no finding: keep the last one
		}
		last, lastErr = res, err
		return err == nil && len(res.Matched) >= d.AtLeast, nil
	})
	if err == nil {
		return Result{Passed: true, Elapsed: held.Sub(applied), Matched: last.Matched,
			Detail: fmt.Sprintf("%d matching: %s", len(last.Matched), last.Matched[0].Event.Message)}
	}
	out := Result{Detail: fmt.Sprintf("no %s after %s", describe(d), d.Timeout)}
	if lastErr != nil {
		out.Detail += fmt.Sprintf(" (last search failed: %v)", lastErr)
	}
	if last != nil {
		out.Matched, out.NearMisses = last.Matched, last.NearMisses
		if len(last.NearMisses) > 0 {
			// The summary line carries the nearest miss's cause too, not
			// only the diagnostics.
			out.Detail += "; nearest fails: " + strings.Join(last.NearMisses[0].Failures, "; ")
		}
	}
	return out
}

func describe(d scenario.DocumentCheck) string {
	var parts []string
	for _, kv := range [][2]string{{"type", d.Type}, {"reason", d.Reason}, {"kind", d.Kind}, {"name", d.NamePrefix + "*"},
		{"namespace", d.Namespace}, {"message containing", d.Message}, {"message matching", d.MessageRegexp}} {
		if kv[1] != "" && kv[1] != "*" {
			parts = append(parts, fmt.Sprintf("%s %q", kv[0], kv[1]))
		}
	}
	return "document with " + strings.Join(parts, ", ")
}

// Recheck looks once more for the documents of every document step that
// held, so that what a page quotes is judged on all the documents the run
// stored and not only on those searchable when the step held: the
// kubelet's "Error: ImagePullBackOff" comes seconds after its first
// Failed, once the step has already passed on that one.
func (r *Runner) Recheck(ctx context.Context) {
	steps := map[string]scenario.DocumentCheck{}
	for _, p := range r.s.Plan() {
		for _, st := range p.Checks {
			for _, c := range st.Steps {
				if d, ok := c.(scenario.DocumentCheck); ok {
					steps[p.Name+"\x00"+d.Name] = d
				}
			}
		}
	}
	r.mu.Lock()
	results := append([]Result(nil), r.results...)
	r.mu.Unlock()
	for i, res := range results {
		d, ok := steps[res.Phase+"\x00"+res.Name]
		if !ok || !res.Passed || ctx.Err() != nil {
			continue
		}
		found, err := r.env.Search.Find(ctx, d.Match(r.appliedAt(res.Phase).Truncate(time.Second)))
		if err != nil || len(found.Matched) < len(res.Matched) {
			continue // a failed look changes nothing: the step's finding stands
		}
		r.mu.Lock()
		r.results[i].Matched = found.Matched
		r.mu.Unlock()
	}
}
