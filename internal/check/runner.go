// Package check evaluates a scenario's plan against a running environment:
// it applies each phase, then waits on every check's condition, each kind
// built by its own constructor (kinds.go), until the check holds or its
// deadline, counted from the phase's apply, has passed.
package check

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/eventcheck/eventcheck/internal/dashboard"
	"github.com/eventcheck/eventcheck/internal/eventindex"
	"github.com/eventcheck/eventcheck/internal/manifest"
	"github.com/eventcheck/eventcheck/internal/scenario"
)

// Result is the outcome of one step.
type Result struct {
	Phase  string
	Name   string
	Kind   scenario.Kind
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
	// Applied is what an apply step did to each object.
	Applied []manifest.Applied `json:",omitempty"`
	// Seen is what a pod step's pods showed (READY STATUS), first seen
	// first.
	Seen []string `json:",omitempty"`
}

// Progress is told when a step starts (done false) and ends.
type Progress func(r Result, done bool)

// Env is what the engine reads and writes: the cluster, the index, and
// what the exporter under test can say about itself.
type Env struct {
	REST   *rest.Config
	Kube   kubernetes.Interface
	Search *eventindex.Searcher
	// Exporter, when set, is asked after each phase whether it had a
	// document rejected for good.
	Exporter Exporter
	// KeyedByUID says documents are keyed by event uid, so each event has
	// exactly one.
	KeyedByUID bool
}

// Runner runs a scenario's plan and keeps its results.
type Runner struct {
	s        *scenario.Scenario
	env      Env
	progress Progress
	applier  *manifest.Applier
	limits   map[string]time.Duration // each phase's longest deadline

	mu       sync.Mutex
	applied  map[string]time.Time
	recorded map[string]int64
	panels   []dashboard.Result
	results  []Result
}

// New returns a runner of s on env; progress may be nil.
func New(s *scenario.Scenario, env Env, progress Progress) (*Runner, error) {
	a, err := manifest.NewApplier(env.REST)
	if err != nil {
		return nil, err
	}
	if progress == nil {
		progress = func(Result, bool) {}
	}
	r := &Runner{s: s, env: env, progress: progress, applier: a, limits: map[string]time.Duration{},
		applied: map[string]time.Time{}, recorded: map[string]int64{}}
	for _, p := range s.Plan() {
		r.limits[p.Name] = p.Limit()
	}
	return r, nil
}

// Scenario is what the runner runs.
func (r *Runner) Scenario() *scenario.Scenario { return r.s }

// Execute runs a stage, its steps concurrently, and keeps their results
// in plan order.
func (r *Runner) Execute(ctx context.Context, s scenario.Stage) []Result {
	out := make([][]Result, len(s.Steps))
	// Watchers end their SettleTime after the stage's other steps
	// (scenario.Watcher); a stage of watchers only runs to their deadlines.
	var steps, watchers sync.WaitGroup
	var settle []func()
	for i, c := range s.Steps {
		if w, ok := c.(scenario.Watcher); ok {
			watchCtx, stop := context.WithCancel(ctx)
			defer stop()
			settle = append(settle, func() { time.AfterFunc(w.SettleTime(), stop) })
			watchers.Go(func() { out[i] = r.evaluate(watchCtx, s.Phase, c) })
			continue
		}
		steps.Go(func() { out[i] = r.evaluate(ctx, s.Phase, c) })
	}
	if len(settle) < len(s.Steps) {
		steps.Wait()
		for _, f := range settle {
			f()
		}
	}
	watchers.Wait()
	var res []Result
	for _, o := range out {
		res = append(res, o...)
	}
	r.mu.Lock()
	r.results = append(r.results, res...)
	r.mu.Unlock()
	return res
}

// evaluate runs one step through its kind's entry and names its results.
func (r *Runner) evaluate(ctx context.Context, phase string, c scenario.Check) []Result {
	head := Result{Phase: phase, Name: c.StepName(), Kind: c.CheckKind()}
	r.progress(head, false)
	eval, ok := kinds[c.CheckKind()]
	if !ok {
		head.Detail = fmt.Sprintf("no evaluation for check kind %q", c.CheckKind())
		r.progress(head, true)
		return []Result{head}
	}
	res := eval(ctx, r, phase, c)
	for i := range res {
		res[i].Phase = phase
		if res[i].Name == "" {
			res[i].Name = head.Name
		}
		if res[i].Kind == "" {
			res[i].Kind = head.Kind
		}
		r.progress(res[i], true)
	}
	return res
}

// Run executes the plan: phases in order, stopping after one that failed;
// within a phase, the checks only when its apply held.
func (r *Runner) Run(ctx context.Context) []Result {
	for _, p := range r.s.Plan() {
		if ctx.Err() != nil || r.Blocked(p.Name) != nil {
			break
		}
		if !Passed(r.Execute(ctx, p.Apply)) {
			continue
		}
		for _, s := range p.Checks {
			r.Execute(ctx, s)
		}
	}
	return r.Results()
}

// Results is every result executed so far, in plan order.
func (r *Runner) Results() []Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]Result(nil), r.results...)
}

// Blocked says why a phase must not run: an earlier phase had a check
// fail, so what follows would be judged on a broken premise.
func (r *Runner) Blocked(phase string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, res := range r.results {
		if !res.Passed && res.Phase != phase {
			return fmt.Errorf("phase %s not run: phase %s failed (%s %s)", phase, res.Phase, res.Kind, res.Name)
		}
	}
	return nil
}

// Passed is true when there are results and every one passed.
func Passed(res []Result) bool {
	for _, r := range res {
		if !r.Passed {
			return false
		}
	}
	return len(res) > 0
}

// Panels returns what the dashboard's panels showed, once its step ran.
func (r *Runner) Panels() []dashboard.Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.panels
}

// Window is when the run's phases began: the first apply's second (core
// events carry whole seconds); zero before any.
func (r *Runner) Window() time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	var first time.Time
	for _, t := range r.applied {
		if first.IsZero() || t.Before(first) {
			first = t
		}
	}
	return first.Truncate(time.Second)
}

func (r *Runner) appliedAt(phase string) time.Time {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.applied[phase]
}

// deadline is when a check of phase with the given limit gives up.
func (r *Runner) deadline(phase string, limit time.Duration) time.Time {
	return r.appliedAt(phase).Add(limit)
}

// phaseDeadline is when the phase's longest check gives up.
func (r *Runner) phaseDeadline(phase string) time.Time {
	return r.deadline(phase, r.limits[phase])
}

// Workloads are the names of what the scenario runs (Deployments and the
// like), to group its events by.
func (r *Runner) Workloads() []string {
	seen := map[string]bool{}
	var out []string
	for _, objs := range r.s.Objects {
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

// Teardown deletes everything the scenario's phases create.
func (r *Runner) Teardown(ctx context.Context) error {
	seen := map[string]bool{}
	var objs []*unstructured.Unstructured
	for _, p := range r.s.Checks.Phases {
		for _, o := range r.s.Objects[p.Name] {
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
	ns := r.s.Checks.Namespace
	var b strings.Builder
	events, err := r.env.Kube.CoreV1().Events(ns).List(ctx, metav1.ListOptions{})
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
	pods, err := r.env.Kube.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
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
