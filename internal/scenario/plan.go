package scenario

import "time"

// Plan is a scenario's phases in the order they run. Both front ends
// execute it (the check engine evaluates each step): `eventcheck run` as a
// whole, the e2e suite as one feature per phase and one assessment per
// stage, so they order, stop and report alike.
type Plan []PhasePlan

// PhasePlan is one phase: Apply first; when it fails, no check of the
// phase runs. A phase runs only when every phase before it held.
type PhasePlan struct {
	Name   string
	Apply  Stage
	Checks []Stage
}

// Stage is steps that run together, each against its own deadline counted
// from the phase's apply. Stages follow one another only where a step
// needs what an earlier one did: a record counts what the phase's checks
// waited for, the accounting covers the events they caused, and the
// dashboard reads what the accounting found complete.
type Stage struct {
	Phase string
	// Name is what the e2e suite calls the stage's assessment.
	Name  string
	Steps []Check
}

// ChecksStage is the name of a phase's concurrent checks.
const ChecksStage = "checks"

// Plan returns the scenario's plan: per phase, apply; the documents,
// rises, updates, enrichment and workloads together; the records; the
// accounting of every event; and, after the phase it names, the
// dashboard.
func (s *Scenario) Plan() Plan {
	var plan Plan
	for _, p := range s.Checks.Phases {
		pp := PhasePlan{Name: p.Name, Apply: Stage{Phase: p.Name, Name: "apply " + p.Apply, Steps: []Check{Apply{Dir: p.Apply, ExpectError: p.ExpectError}}}}
		stage := func(name string, steps []Check) {
			if len(steps) > 0 {
				pp.Checks = append(pp.Checks, Stage{Phase: p.Name, Name: name, Steps: steps})
			}
		}
		stage(ChecksStage, p.concurrent())
		var records []Check
		for _, c := range p.Record {
			records = append(records, c)
		}
		stage("record", records)
		stage(s.Checks.Completeness.StepName(), []Check{s.Checks.Completeness})
		if d := s.Checks.Dashboard; d != nil && d.After == p.Name && s.Dashboard != nil {
			stage("dashboard "+s.Dashboard.Title, []Check{DashboardStep{DashboardCheck: *d, Title: s.Dashboard.Title}})
		}
		plan = append(plan, pp)
	}
	return plan
}

// concurrent is the phase's checks that need nothing from one another, in
// the order reports list them.
func (p Phase) concurrent() []Check {
	var out []Check
	for _, d := range p.Documents {
		out = append(out, d)
	}
	for _, r := range p.Rises {
		out = append(out, r)
	}
	for _, u := range p.Updates {
		out = append(out, u)
	}
	for _, e := range p.Enrichment {
		out = append(out, e)
	}
	for _, w := range p.Workloads {
		out = append(out, w)
	}
	for _, pc := range p.Pods {
		out = append(out, pc)
	}
	return out
}

// Limit is the longest deadline of the phase's steps: a red phase ends
// within it (plus a last look).
func (p PhasePlan) Limit() time.Duration {
	var longest time.Duration
	for _, s := range p.Checks {
		for _, c := range s.Steps {
			longest = max(longest, c.Limit())
		}
	}
	return longest
}
