package check

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"

	"github.com/eventcheck/eventcheck/internal/scenario"
)

// Rejections is what an exporter under test says it could not index for
// good.
type Rejections struct {
	Count int64
	// Reasons are the distinct reasons OpenSearch gave, with how often.
	Reasons []string
}

func (r Rejections) String() string {
	if r.Count == 0 {
		return "OpenSearch rejected no document"
	}
	s := fmt.Sprintf("OpenSearch rejected %d document(s) for good", r.Count)
	if len(r.Reasons) > 0 {
		s += ": " + strings.Join(r.Reasons, "; ")
	}
	return s
}

// Exporter is what a run can ask the exporter under test; only exporters
// we can see into (ours) provide it.
type Exporter interface {
	Rejections(ctx context.Context) (Rejections, error)
}

// Accounting compares the API's events with the index's documents.
type Accounting struct {
	Scope      string `json:"scope"`
	Events     int    `json:"events"`     // in the API
	Documented int    `json:"documented"` // with a document
	// Missing and Duplicated describe events without a document and
	// events with more than one (when documents are keyed by uid).
	Missing    []string `json:"missing,omitempty"`
	Duplicated []string `json:"duplicated,omitempty"`
}

// complete is true when every event has its document, exactly once.
func (a *Accounting) complete() bool {
	return a.Documented == a.Events && len(a.Duplicated) == 0
}

// listed is how many missing or duplicated events a detail names.
const listed = 10

// accounted ends every phase: every Event the API holds for the
// scenario's scope has its document, matched by uid (exactly one when
// documents are keyed by uid), and the exporter (when it tells) rejected
// none. The events are those the API holds when the step starts: later
// ones belong to the next phase's accounting.
func accounted(ctx context.Context, r *Runner, phase string, c scenario.Completeness) []Result {
	res := []Result{r.completeness(ctx, phase, c)}
	if r.env.Exporter != nil {
		res = append(res, r.rejected(ctx))
	}
	return res
}

func (r *Runner) completeness(ctx context.Context, phase string, c scenario.Completeness) Result {
	if c.Disabled != "" {
		return Result{Passed: true, Detail: "off in checks.yaml: " + c.Disabled}
	}
	scope, events, err := r.scopeEvents(ctx)
	if err != nil {
		return Result{Detail: fmt.Sprintf("listing the API's events (%s): %v", scope, err)}
	}
	uids := make([]string, len(events))
	for i, e := range events {
		uids[i] = string(e.UID)
	}
	var acc *Accounting
	var searchErr error
	held, err := until(ctx, r.deadline(phase, c.Timeout), func(ctx context.Context) (bool, error) {
		counts, err := r.env.Search.CountByUID(ctx, uids)
		if err != nil {
			searchErr = err
			return false, nil
		}
		acc = account(scope, events, counts, r.env.KeyedByUID)
		return acc.complete(), nil
	})
	if err == nil {
		return Result{Passed: true, Elapsed: held.Sub(r.appliedAt(phase)), Accounting: acc,
			Detail: fmt.Sprintf("%d events in the API (%s), each with its document", acc.Events, scope)}
	}
	if acc == nil {
		return Result{Detail: fmt.Sprintf("could not count the documents of %d events within %s: %v", len(events), c.Timeout, errors.Join(searchErr, err))}
	}
	out := Result{Accounting: acc, Detail: acc.failure(c.Timeout, r.env.KeyedByUID)}
	if r.env.Exporter != nil {
		if rej, err := r.env.Exporter.Rejections(ctx); err == nil && rej.Count > 0 {
			out.Detail += "; the exporter says: " + rej.String()
		}
	}
	return out
}

// rejected fails when the exporter under test had a document rejected for
// good: that event is lost, whichever namespace it was in.
func (r *Runner) rejected(ctx context.Context) Result {
	res := Result{Name: "no document rejected", Kind: scenario.KindExporter}
	rej, err := r.env.Exporter.Rejections(ctx)
	if err != nil {
		res.Detail = fmt.Sprintf("could not read the exporter's rejections: %v", err)
		return res
	}
	res.Passed, res.Detail = rej.Count == 0, rej.String()
	return res
}

// scopeEvents lists the events the completeness check covers.
func (r *Runner) scopeEvents(ctx context.Context) (string, []corev1.Event, error) {
	c := r.s.Checks.Completeness
	namespaces := slices.Compact(append([]string{r.s.Checks.Namespace}, c.Namespaces...))
	scope := "namespace " + strings.Join(namespaces, ", ")
	if len(c.ClusterScoped) > 0 {
		scope += "; " + strings.Join(c.ClusterScoped, ", ") + " events"
	}
	seen := map[string]bool{}
	var out []corev1.Event
	add := func(items []corev1.Event, keep func(corev1.Event) bool) {
		for _, e := range items {
			if keep(e) && !seen[string(e.UID)] {
				seen[string(e.UID)] = true
				out = append(out, e)
			}
		}
	}
	for _, ns := range namespaces {
		list, err := r.env.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
		if err != nil {
			return scope, nil, fmt.Errorf("namespace %s: %w", ns, err)
		}
		add(list.Items, func(corev1.Event) bool { return true })
	}
	for _, kind := range c.ClusterScoped {
		list, err := r.env.Kube.CoreV1().Events(metav1.NamespaceAll).List(ctx, metav1.ListOptions{
			FieldSelector: fields.OneTermEqualSelector("involvedObject.kind", kind).String(),
		})
		if err != nil {
			return scope, nil, fmt.Errorf("%s events: %w", kind, err)
		}
		// The selector narrows on the server; the check keeps to the
		// contract whatever a server (or a fake) returns.
		add(list.Items, func(e corev1.Event) bool { return e.InvolvedObject.Kind == kind && e.InvolvedObject.Namespace == "" })
	}
	slices.SortFunc(out, func(a, b corev1.Event) int { return a.CreationTimestamp.Compare(b.CreationTimestamp.Time) })
	return scope, out, nil
}

func account(scope string, events []corev1.Event, counts map[string]int64, keyedByUID bool) *Accounting {
	a := &Accounting{Scope: scope, Events: len(events)}
	for _, e := range events {
		switch n := counts[string(e.UID)]; {
		case n == 0:
			a.Missing = append(a.Missing, describeEvent(e))
		case n > 1 && keyedByUID:
			a.Documented++
			a.Duplicated = append(a.Duplicated, fmt.Sprintf("%s (%d documents)", describeEvent(e), n))
		default:
			a.Documented++
		}
	}
	return a
}

func (a *Accounting) failure(timeout time.Duration, keyedByUID bool) string {
	var parts []string
	if len(a.Missing) > 0 {
		parts = append(parts, fmt.Sprintf("%d of %d events in the API (%s) have no document after %s: %s",
			len(a.Missing), a.Events, a.Scope, timeout, firstFew(a.Missing)))
	}
	if len(a.Duplicated) > 0 && keyedByUID {
		parts = append(parts, fmt.Sprintf("%d events have more than one document though documents are keyed by uid: %s",
			len(a.Duplicated), firstFew(a.Duplicated)))
	}
	return strings.Join(parts, "; ")
}

func firstFew(items []string) string {
	if len(items) <= listed {
		return strings.Join(items, " | ")
	}
	return strings.Join(items[:listed], " | ") + fmt.Sprintf(" | and %d more", len(items)-listed)
}

// describeEvent names an event as a person finds it: type, reason,
// object and the start of its message.
func describeEvent(e corev1.Event) string {
	msg := strings.Join(strings.Fields(e.Message), " ")
	if len(msg) > 100 {
		msg = msg[:99] + "…"
	}
	// Quoted for reading, not escaped: messages quote names themselves.
	return fmt.Sprintf(`%s %s %s/%s: "%s"`, e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, msg)
}
