package scenario

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/eventcheck/eventcheck/internal/eventindex"
)

// Update waits until the document of a repeating Event (count ≥ 2 in the
// API) has reached the count the API showed: an exporter that ignores an
// Event's updates keeps count 1, and a dashboard counting occurrences
// under-reports.
func (r *Runner) Update(ctx context.Context, p Phase, u UpdateCheck) Result {
	return r.step(Result{Phase: p.Name, Name: u.Name, Kind: "updates"}, func() Result {
		applied := r.appliedAt(p.Name)
		var target *corev1.Event // the repeating event, as first seen
		var docCount int64
		var state string
		err := wait.PollUntilContextTimeout(ctx, poll, u.Timeout, true, func(ctx context.Context) (bool, error) {
			if target == nil {
				list, err := r.kube.CoreV1().Events(u.Namespace).List(ctx, metav1.ListOptions{})
				if err != nil {
					state = fmt.Sprintf("listing events: %v", err)
					return false, nil
				}
				for _, e := range list.Items {
					if e.Reason == u.Reason && (u.Kind == "" || e.InvolvedObject.Kind == u.Kind) &&
						strings.HasPrefix(e.InvolvedObject.Name, u.NamePrefix) && e.Count >= 2 && (target == nil || e.Count > target.Count) {
						target = e.DeepCopy()
					}
				}
				if target == nil {
					state = fmt.Sprintf("no %s event with count ≥ 2 in namespace %s yet", u.Reason, u.Namespace)
					return false, nil
				}
			}
			docs, err := r.Search.ByUID(ctx, string(target.UID))
			if err != nil {
				if ctx.Err() == nil {
					state = err.Error()
				}
				return false, nil
			}
			docCount = 0
			for _, d := range docs {
				docCount = max(docCount, d.Event.Count)
			}
			state = fmt.Sprintf("%d document(s), highest count %d", len(docs), docCount)
			return docCount >= int64(target.Count), nil
		})
		if err == nil {
			return Result{Passed: true, Elapsed: time.Since(applied),
				Detail: fmt.Sprintf("%s: the document's count reached %d, as in the API", describeEvent(*target), docCount)}
		}
		if target == nil {
			return Result{Detail: fmt.Sprintf("%s after %s", state, u.Timeout)}
		}
		return Result{Detail: fmt.Sprintf("%s has count %d in the API, its document still %d after %s (%s): the exporter does not follow an Event's updates",
			describeEvent(*target), target.Count, docCount, u.Timeout, state)}
	})
}

// Enrichment waits until the documents about the check's objects carry
// their own object's labels, and fails when one carries another's (or
// none where its object has some).
func (r *Runner) Enrichment(ctx context.Context, p Phase, e EnrichmentCheck) Result {
	return r.step(Result{Phase: p.Name, Name: e.Name, Kind: "enrichment"}, func() Result {
		applied := r.appliedAt(p.Name)
		m := eventindex.Match{Kind: e.Kind, NamePrefix: e.NamePrefix, Namespace: e.Namespace, Since: applied.Truncate(time.Second)}
		var compared int
		var mismatch string
		err := wait.PollUntilContextTimeout(ctx, poll, e.Timeout, true, func(ctx context.Context) (bool, error) {
			docs, err := r.Search.Search(ctx, m.Query(), 200)
			if err != nil {
				if ctx.Err() == nil { // the deadline is no finding: keep the last one
					mismatch = err.Error()
				}
				return false, nil
			}
			compared, mismatch = 0, ""
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
					return false, nil
				}
				compared++
				want, got := deDotted(live.GetLabels()), deDotted(io.Labels)
				if !maps.Equal(want, got) {
					mismatch = fmt.Sprintf("the document of %s %s/%s (%s) carries labels %s, the object has %s",
						d.Event.Reason, io.Kind, io.Name, d.ID, labelString(got), labelString(want))
					return false, nil
				}
			}
			if compared == 0 {
				mismatch = fmt.Sprintf("no document about a live %s %s* in namespace %s yet", e.Kind, e.NamePrefix, e.Namespace)
			}
			return compared > 0, nil
		})
		if err == nil {
			return Result{Passed: true, Elapsed: time.Since(applied), Detail: fmt.Sprintf("%d document(s) carry their own %s's labels", compared, e.Kind)}
		}
		return Result{Detail: fmt.Sprintf("after %s: %s: the exporter's enrichment does not give each document its own object's labels", e.Timeout, mismatch)}
	})
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
