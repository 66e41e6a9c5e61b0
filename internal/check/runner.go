package scenario

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/eventcheck/eventcheck/internal/dashboard"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/manifest"
)

// poll is how often checks look again; it bounds the resolution of the
// measured apply-to-searchable latency.
const poll = 200 * time.Millisecond

// Result is the outcome of one step.
type Result struct {
	Phase  string
	Name   string
	Kind   string // apply, document, record, rise, updates, enrichment, workload, completeness, exporter, panel
	Passed bool
	// Elapsed is from the phase's apply to the check holding (documents:
	// to the document being searchable).
	Elapsed    time.Duration
	Detail     string
	Matched    []eventindex.Doc
	NearMisses []eventindex.Miss
	// Accounting is the API's events against the documents found
	// (completeness steps).
	Accounting *Accounting `json:",omitempty"`
}

// Progress is told when a step starts (Done false) and ends.
type Progress func(r Result, done bool)

// Runner runs a scenario's phases against a cluster and an index.
type Runner struct {
	S        *Scenario
	REST     *rest.Config
	Search   *eventindex.Searcher
	Progress Progress
	// Exporter, when set, is asked after each phase whether it had a
	// document rejected for good.
	Exporter Exporter
	// KeyedByUID says documents are keyed by event uid, so each event has
	// exactly one.
	KeyedByUID bool

	applier  *manifest.Applier
	kube     kubernetes.Interface
	applied  map[string]time.Time
	recorded map[string]int64
	panels   []dashboard.Result
	results  []Result
	mu       sync.Mutex
}

// Panels returns what the dashboard's panels showed (after Dashboard ran),
// for reports.
func (r *Runner) Panels() []dashboard.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.panels
}

// Workloads are the names of what the scenario runs (Deployments and the
// like), to group its events by.
func (r *Runner) Workloads() []string {
	seen := map[string]bool{}
	var out []string
	for _, objs := range r.S.Objects {
		for _, o := range objs {
			switch o.GetKind() {
			case "Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "ReplicaSet", "Pod":
				if !seen[o.GetName()] {
					seen[o.GetName()] = true
					out = append(out, o.GetName())
				}
			}
		}
	}
	return out
}

// NewRunner connects to the cluster.
func NewRunner(s *Scenario, cfg *rest.Config, search *eventindex.Searcher, progress Progress) (*Runner, error) {
	a, err := manifest.NewApplier(cfg)
	if err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	if progress == nil {
		progress = func(Result, bool) {}
	}
	return &Runner{S: s, REST: cfg, Search: search, Progress: progress, applier: a, kube: kube,
		applied: map[string]time.Time{}, recorded: map[string]int64{}}, nil
}

func (r *Runner) step(res Result, run func() Result) Result {
	r.Progress(res, false)
	out := run()
	out.Phase, out.Name, out.Kind = res.Phase, res.Name, res.Kind
	r.Progress(out, true)
	return out
}

// Apply applies a phase's kustomization (server-side).
func (r *Runner) Apply(ctx context.Context, p Phase) Result {
	return r.step(Result{Phase: p.Name, Name: p.Apply, Kind: "apply"}, func() Result {
		start := time.Now()
		if err := r.applier.Apply(ctx, r.S.Objects[p.Name]); err != nil {
			return Result{Detail: err.Error()}
		}
		r.mu.Lock()
		r.applied[p.Name] = start
		r.mu.Unlock()
		return Result{Passed: true, Elapsed: time.Since(start), Detail: fmt.Sprintf("%d objects", len(r.S.Objects[p.Name]))}
	})
}

func (r *Runner) appliedAt(phase string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied[phase]
}

// Document waits for a document check to hold.
func (r *Runner) Document(ctx context.Context, p Phase, d DocumentCheck) Result {
	return r.step(Result{Phase: p.Name, Name: d.Name, Kind: "document"}, func() Result {
		applied := r.appliedAt(p.Name)
		// Core events carry whole seconds: look from the applied second.
		m := d.Match(applied.Truncate(time.Second))
		var last *eventindex.Result
		var lastErr error
		err := wait.PollUntilContextTimeout(ctx, poll, d.Timeout, true, func(ctx context.Context) (bool, error) {
			res, err := r.Search.Find(ctx, m)
			if err != nil && ctx.Err() != nil {
				return false, nil // the deadline is no finding: keep the last one
			}
			last, lastErr = res, err
			return err == nil && len(res.Matched) >= d.AtLeast, nil
		})
		if err == nil {
			return Result{Passed: true, Elapsed: time.Since(applied), Matched: last.Matched,
				Detail: fmt.Sprintf("%d matching: %s", len(last.Matched), last.Matched[0].Event.Message)}
		}
		out := Result{Detail: fmt.Sprintf("no %s after %s", describe(d), d.Timeout)}
		if lastErr != nil {
			out.Detail += fmt.Sprintf(" (last search failed: %v)", lastErr)
		}
		if last != nil {
			out.Matched, out.NearMisses = last.Matched, last.NearMisses
		}
		return out
	})
}

func describe(d DocumentCheck) string {
	var parts []string
	for _, kv := range [][2]string{{"type", d.Type}, {"reason", d.Reason}, {"kind", d.Kind}, {"name", d.NamePrefix + "*"},
		{"namespace", d.Namespace}, {"message containing", d.Message}, {"message matching", d.MessageRegexp}} {
		if kv[1] != "" && kv[1] != "*" {
			parts = append(parts, fmt.Sprintf("%s %q", kv[0], kv[1]))
		}
	}
	return "document with " + strings.Join(parts, ", ")
}

func (r *Runner) count(ctx context.Context, typ, prefix string) (int64, error) {
	m := eventindex.Match{Type: typ, NamePrefix: prefix, Namespace: r.S.Checks.Namespace}
	return r.Search.Count(ctx, m.Query())
}

// Record counts documents for a later Rise.
func (r *Runner) Record(ctx context.Context, p Phase, c Count) Result {
	return r.step(Result{Phase: p.Name, Name: c.Name, Kind: "record"}, func() Result {
		n, err := r.count(ctx, c.Type, c.NamePrefix)
		if err != nil {
			return Result{Detail: err.Error()}
		}
		r.mu.Lock()
		r.recorded[c.Name] = n
		r.mu.Unlock()
		return Result{Passed: true, Detail: fmt.Sprintf("%d %s documents", n, c.Type)}
	})
}

// Rise waits for a count to go strictly above a recorded one.
func (r *Runner) Rise(ctx context.Context, p Phase, rise Rise) Result {
	return r.step(Result{Phase: p.Name, Name: rise.Name, Kind: "rise"}, func() Result {
		r.mu.Lock()
		before := r.recorded[rise.Above]
		r.mu.Unlock()
		applied := r.appliedAt(p.Name)
		var n int64
		err := wait.PollUntilContextTimeout(ctx, poll, rise.Timeout, true, func(ctx context.Context) (bool, error) {
			if c, err := r.count(ctx, rise.Type, rise.NamePrefix); err == nil {
				n = c
			}
			return n > before, nil
		})
		if err == nil {
			return Result{Passed: true, Elapsed: time.Since(applied), Detail: fmt.Sprintf("%s documents %d → %d", rise.Type, before, n)}
		}
		return Result{Detail: fmt.Sprintf("%s documents still %d (recorded %d as %s) after %s", rise.Type, n, before, rise.Above, rise.Timeout)}
	})
}

// Workload waits for a workload of the phase to reach its condition.
func (r *Runner) Workload(ctx context.Context, p Phase, w Workload) Result {
	return r.step(Result{Phase: p.Name, Name: w.Kind + "/" + w.Name + " " + w.Condition, Kind: "workload"}, func() Result {
		var obj *unstructured.Unstructured
		for _, o := range r.S.Objects[p.Name] {
			if o.GetKind() == w.Kind && o.GetName() == w.Name {
				obj = o
			}
		}
		if obj == nil {
			return Result{Detail: fmt.Sprintf("phase %s does not create %s %s", p.Name, w.Kind, w.Name)}
		}
		applied := r.appliedAt(p.Name)
		var state string
		err := wait.PollUntilContextTimeout(ctx, poll, w.Timeout, true, func(ctx context.Context) (bool, error) {
			live, err := r.applier.Get(ctx, obj)
			if err != nil {
				if ctx.Err() == nil {
					state = err.Error()
				}
				return false, nil
			}
			var ok bool
			ok, state = hasCondition(live, w.Condition)
			return ok, nil
		})
		if err == nil {
			return Result{Passed: true, Elapsed: time.Since(applied), Detail: state}
		}
		return Result{Detail: fmt.Sprintf("not %s after %s: %s", w.Condition, w.Timeout, state)}
	})
}

func hasCondition(o *unstructured.Unstructured, cond string) (bool, string) {
	conds, _, _ := unstructured.NestedSlice(o.Object, "status", "conditions")
	var seen []string
	for _, c := range conds {
		m, _ := c.(map[string]any)
		t, _ := m["type"].(string)
		s, _ := m["status"].(string)
		msg, _ := m["message"].(string)
		seen = append(seen, fmt.Sprintf("%s=%s (%s)", t, s, msg))
		if t == cond && s == "True" {
			return true, fmt.Sprintf("%s=True", t)
		}
	}
	if len(seen) == 0 {
		return false, "no conditions yet"
	}
	return false, strings.Join(seen, "; ")
}

// Accounted ends every phase: every event of the scenario has its
// document, and the exporter (when it tells) rejected none.
func (r *Runner) Accounted(ctx context.Context, p Phase) []Result {
	res := []Result{r.Completeness(ctx, p)}
	if r.Exporter != nil {
		res = append(res, r.Rejected(ctx, p))
	}
	return res
}

// Dashboard checks each panel of the scenario's dashboard over the time
// since the phase before it was applied. Unsupported panels are reported
// as skipped (passed, with a note), never left out.
func (r *Runner) Dashboard(ctx context.Context) []Result {
	dc := r.S.Checks.Dashboard
	if dc == nil || r.S.Dashboard == nil {
		return nil
	}
	story := dashboard.Story{Namespace: r.S.Checks.Namespace, Since: r.appliedAt(dc.After).Add(-time.Second), Until: time.Now().Add(time.Minute),
		WarningsAtLeast: dc.WarningsAtLeast, Types: dc.Types, Interval: dc.Interval, Rows: dc.Rows}
	for _, p := range r.S.Checks.Phases {
		if p.Name != dc.After || dc.Rows != nil {
			continue
		}
		for _, d := range p.Documents {
			if d.Type == "Warning" {
				story.Rows = append(story.Rows, dashboard.Row{Reason: d.Reason, Message: d.Message})
			}
		}
	}
	var out []Result
	results := PanelResults(ctx, r, story)
	r.mu.Lock()
	r.panels = results
	r.mu.Unlock()
	for _, pr := range results {
		detail := pr.Detail
		if pr.Skipped {
			detail = "skipped: " + detail
		}
		out = append(out, r.step(Result{Phase: dc.After, Name: pr.Panel.Title, Kind: "panel"}, func() Result {
			return Result{Passed: pr.Passed || pr.Skipped, Detail: detail}
		}))
	}
	return out
}

// PanelResults runs the dashboard's panels (exposed for reports).
func PanelResults(ctx context.Context, r *Runner, s dashboard.Story) []dashboard.Result {
	// Documents written just now become searchable on the next refresh:
	// look again for a bound, and report the last look.
	var res []dashboard.Result
	_ = wait.PollUntilContextTimeout(ctx, poll, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		got := dashboard.Check(ctx, r.Search, r.S.Dashboard, s)
		if ctx.Err() != nil && res != nil {
			return false, nil // cut short by the deadline: keep the last full look
		}
		res = got
		return !slices.ContainsFunc(res, func(x dashboard.Result) bool { return !x.Passed && !x.Skipped }), nil
	})
	return res
}

// Passed is true when every result passed.
func Passed(res []Result) bool {
	for _, r := range res {
		if !r.Passed {
			return false
		}
	}
	return len(res) > 0
}

// Teardown deletes everything the scenario's phases create.
func (r *Runner) Teardown(ctx context.Context) error {
	seen := map[string]bool{}
	var objs []*unstructured.Unstructured
	for _, p := range r.S.Checks.Phases {
		for _, o := range r.S.Objects[p.Name] {
			key := o.GetKind() + "/" + o.GetNamespace() + "/" + o.GetName()
			if !seen[key] {
				seen[key] = true
				objs = append(objs, o)
			}
		}
	}
	return r.applier.Delete(ctx, objs, 2*time.Minute)
}

// Diagnose describes the scenario namespace from the API: its events and
// what its pods are waiting for.
func (r *Runner) Diagnose(ctx context.Context) string {
	ns := r.S.Checks.Namespace
	var b strings.Builder
	events, err := r.kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		fmt.Fprintf(&b, "events in %s: %v\n", ns, err)
	} else {
		sort.Slice(events.Items, func(i, j int) bool {
			return events.Items[i].CreationTimestamp.Before(&events.Items[j].CreationTimestamp)
		})
		fmt.Fprintf(&b, "events in namespace %s (from the API):\n", ns)
		for _, e := range events.Items {
			fmt.Fprintf(&b, "  %-7s %-18s %s/%s: %s\n", e.Type, e.Reason, e.InvolvedObject.Kind, e.InvolvedObject.Name, e.Message)
		}
	}
	pods, err := r.kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err == nil {
		fmt.Fprintf(&b, "pods in namespace %s:\n", ns)
		for _, p := range pods.Items {
			fmt.Fprintf(&b, "  %s: %s%s\n", p.Name, p.Status.Phase, waiting(p))
		}
	}
	return b.String()
}

func waiting(p corev1.Pod) string {
	var s string
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status != corev1.ConditionTrue {
			s += fmt.Sprintf(", unscheduled: %s", c.Message)
		}
	}
	for _, c := range p.Status.ContainerStatuses {
		if w := c.State.Waiting; w != nil {
			s += fmt.Sprintf(", %s waiting: %s", c.Name, w.Reason)
		}
	}
	return s
}
