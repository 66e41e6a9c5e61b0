package scenario

import (
	"context"
	"fmt"
	"sync"
)

// Plan is a scenario's phases in the order they run. Both front ends
// execute it: `eventcheck run` through Runner.Run, the e2e suite as one
// feature per phase and one assessment per stage, so they order, stop and
// report alike.
type Plan []PhasePlan

// PhasePlan is one phase: Apply first; when it fails, no check of the
// phase runs. A phase runs only when every phase before it held.
type PhasePlan struct {
	Name   string
	Apply  Stage
	Checks []Stage
}

// Stage is steps that run together. A phase's document checks are one
// stage and run concurrently, so each one's apply-to-searchable latency is
// its own; every other stage is a single step.
type Stage struct {
	Phase string
	// Name is what the e2e suite calls the stage's assessment.
	Name  string
	Steps []Step
}

// Step is one check; it reports one result, or several (the accounting,
// the dashboard's panels).
type Step struct {
	Name string
	run  func(ctx context.Context, r *Runner) []Result
}

func one(name string, run func(ctx context.Context, r *Runner) Result) Step {
	return Step{Name: name, run: func(ctx context.Context, r *Runner) []Result { return []Result{run(ctx, r)} }}
}

// Plan returns the scenario's plan: per phase, apply; the document checks
// (concurrently); records; rises; updates; enrichment; workloads; the
// accounting of every event; and, after the phase it names, the
// dashboard.
func (s *Scenario) Plan() Plan {
	var plan Plan
	for _, p := range s.Checks.Phases {
		pp := PhasePlan{Name: p.Name, Apply: Stage{Phase: p.Name, Name: "apply " + p.Apply,
			Steps: []Step{one(p.Apply, func(ctx context.Context, r *Runner) Result { return r.Apply(ctx, p) })}}}
		stage := func(name string, steps ...Step) {
			pp.Checks = append(pp.Checks, Stage{Phase: p.Name, Name: name, Steps: steps})
		}
		if len(p.Documents) > 0 {
			var docs []Step
			for _, d := range p.Documents {
				docs = append(docs, one(d.Name, func(ctx context.Context, r *Runner) Result { return r.Document(ctx, p, d) }))
			}
			stage("documents", docs...)
		}
		for _, c := range p.Record {
			stage("record "+c.Name, one(c.Name, func(ctx context.Context, r *Runner) Result { return r.Record(ctx, p, c) }))
		}
		for _, rise := range p.Rises {
			stage(rise.Name, one(rise.Name, func(ctx context.Context, r *Runner) Result { return r.Rise(ctx, p, rise) }))
		}
		for _, u := range p.Updates {
			stage(u.Name, one(u.Name, func(ctx context.Context, r *Runner) Result { return r.Update(ctx, p, u) }))
		}
		for _, e := range p.Enrichment {
			stage(e.Name, one(e.Name, func(ctx context.Context, r *Runner) Result { return r.Enrichment(ctx, p, e) }))
		}
		for _, w := range p.Workloads {
			name := fmt.Sprintf("%s %s %s", w.Kind, w.Name, w.Condition)
			stage(name, one(name, func(ctx context.Context, r *Runner) Result { return r.Workload(ctx, p, w) }))
		}
		stage("every event accounted for", Step{Name: "every event accounted for",
			run: func(ctx context.Context, r *Runner) []Result { return r.Accounted(ctx, p) }})
		if d := s.Checks.Dashboard; d != nil && d.After == p.Name && s.Dashboard != nil {
			stage("dashboard "+s.Dashboard.Title, Step{Name: s.Dashboard.Title,
				run: func(ctx context.Context, r *Runner) []Result { return r.Dashboard(ctx) }})
		}
		plan = append(plan, pp)
	}
	return plan
}

// Execute runs a stage, its steps concurrently, and keeps their results
// in plan order for Results.
func (r *Runner) Execute(ctx context.Context, s Stage) []Result {
	out := make([][]Result, len(s.Steps))
	var wg sync.WaitGroup
	for i, st := range s.Steps {
		wg.Go(func() { out[i] = st.run(ctx, r) })
	}
	wg.Wait()
	var res []Result
	for _, o := range out {
		res = append(res, o...)
	}
	r.mu.Lock()
	r.results = append(r.results, res...)
	r.mu.Unlock()
	return res
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

// Run executes the plan: phases in order, stopping after one that failed;
// within a phase, the checks only when its apply held.
func (r *Runner) Run(ctx context.Context) []Result {
	for _, p := range r.S.Plan() {
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
