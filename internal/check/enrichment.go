package check

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// enrichment waits until the documents about the check's objects carry
// their own object's labels, and fails when one carries another's (or
// none where its object has some).
func enrichment(ctx context.Context, r *Runner, phase string, e scenario.EnrichmentCheck) Result {
	m := eventindex.Match{Kind: e.Kind, NamePrefix: e.NamePrefix, Namespace: e.Namespace, Since: r.appliedAt(phase).Truncate(time.Second)}
	var compared int
	var mismatch string
	held, err := until(ctx, r.deadline(phase, e.Timeout), func(ctx context.Context) (bool, error) {
		docs, err := r.env.Search.Search(ctx, m.Query(), 200)
		if err != nil {
			if ctx.Err() == nil { // the deadline is no finding: keep the last one
				mismatch = err.Error()
			}
			return false, nil
		}
		var ok bool
		compared, mismatch, ok = r.ownLabels(ctx, docs)
		if ok && compared == 0 {
			mismatch = fmt.Sprintf("no document about a live %s %s* in namespace %s yet", e.Kind, e.NamePrefix, e.Namespace)
		}
		return ok && compared > 0, nil
	})
	if err == nil {
		return Result{Passed: true, Elapsed: held.Sub(r.appliedAt(phase)), Detail: fmt.Sprintf("%d document(s) carry their own %s's labels", compared, e.Kind)}
	}
	return Result{Detail: fmt.Sprintf("after %s: %s: the exporter's enrichment does not give each document its own object's labels", e.Timeout, mismatch)}
}

// ownLabels compares each document's labels with its live object's: how
// many were compared, and the first mismatch (ok false) if any.
func (r *Runner) ownLabels(ctx context.Context, docs []eventindex.Doc) (compared int, mismatch string, ok bool) {
	for _, d := range docs {
		io := d.Event.InvolvedObject
		ref := &unstructured.Unstructured{}
		ref.SetAPIVersion(io.APIVersion)
		ref.SetKind(io.Kind)
		ref.SetNamespace(io.Namespace)
		ref.SetName(io.Name)
		live, err := r.applier.Get(ctx, ref)
		if apierrors.IsNotFound(err) {
			continue // gone since (a pod replaced by the fix)
		}
		if err != nil {
			if ctx.Err() == nil {
				mismatch = fmt.Sprintf("reading %s %s: %v", io.Kind, io.Name, err)
			}
			return compared, mismatch, false
		}
		compared++
		want, got := deDotted(live.GetLabels()), deDotted(io.Labels)
		if !maps.Equal(want, got) {
			return compared, fmt.Sprintf("the document of %s %s/%s (%s) carries labels %s, the object has %s",
				d.Event.Reason, io.Kind, io.Name, d.ID, labelString(got), labelString(want)), false
		}
	}
	return compared, "", true
}

// deDotted compares label keys as deDot writes them.
func deDotted(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ReplaceAll(k, ".", "_")] = v
	}
	return out
}

func labelString(m map[string]string) string {
	if len(m) == 0 {
		return "none"
	}
	var parts []string
	for _, k := range slices.Sorted(maps.Keys(m)) {
		parts = append(parts, k+"="+m[k])
	}
	return "{" + strings.Join(parts, ", ") + "}"
}
