package check

import (
	"context"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eventcheck/eventcheck/internal/scenario"
)

// updates waits until the document of a repeating Event (count ≥ 2 in the
// API) has reached the count the API showed: an exporter that ignores an
// Event's updates keeps count 1, and a dashboard counting occurrences
// under-reports.
func updates(ctx context.Context, r *Runner, phase string, u scenario.UpdateCheck) Result {
	var target *corev1.Event // the repeating event, as first seen
	var docCount int64
	var state string
	held, err := until(ctx, r.deadline(phase, u.Timeout), func(ctx context.Context) (bool, error) {
		if target == nil {
			if target, state = r.repeating(ctx, u); target == nil {
				return false, nil
			}
		}
		docs, err := r.env.Search.ByUID(ctx, string(target.UID))
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
		return Result{Passed: true, Elapsed: held.Sub(r.appliedAt(phase)),
			Detail: fmt.Sprintf("%s: the document's count reached %d, as in the API", describeEvent(*target), docCount)}
	}
	if target == nil {
		return Result{Detail: fmt.Sprintf("%s after %s", state, u.Timeout)}
	}
	return Result{Detail: fmt.Sprintf("%s has count %d in the API, its document still %d after %s (%s): the exporter does not follow an Event's updates",
		describeEvent(*target), target.Count, docCount, u.Timeout, state)}
}

// repeating is the check's Event with the highest count ≥ 2, or nil and
// why not.
func (r *Runner) repeating(ctx context.Context, u scenario.UpdateCheck) (*corev1.Event, string) {
	list, err := r.env.Kube.CoreV1().Events(u.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Sprintf("listing events: %v", err)
	}
	var target *corev1.Event
	for _, e := range list.Items {
		if e.Reason == u.Reason && (u.Kind == "" || e.InvolvedObject.Kind == u.Kind) &&
			strings.HasPrefix(e.InvolvedObject.Name, u.NamePrefix) && e.Count >= 2 && (target == nil || e.Count > target.Count) {
			target = e.DeepCopy()
		}
	}
	if target == nil {
		return nil, fmt.Sprintf("no %s event with count ≥ 2 in namespace %s yet", u.Reason, u.Namespace)
	}
	return target, ""
}
