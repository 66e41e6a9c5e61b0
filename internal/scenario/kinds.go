package scenario

import "time"

// Kind names what a step checks; reports and the e2e suite group by it.
type Kind string

// The kinds of step a plan holds. Exporter and Panel are results of the
// accounting and dashboard steps.
const (
	KindApply        Kind = "apply"
	KindDocument     Kind = "document"
	KindRecord       Kind = "record"
	KindRise         Kind = "rise"
	KindUpdates      Kind = "updates"
	KindEnrichment   Kind = "enrichment"
	KindWorkload     Kind = "workload"
	KindPod          Kind = "pod"
	KindCompleteness Kind = "completeness"
	KindExporter     Kind = "exporter"
	KindPanel        Kind = "panel"
)

// Timed says whether "apply → holds" means something for the kind: an
// apply and a record do not wait for anything to arrive.
func (k Kind) Timed() bool { return k != KindApply && k != KindRecord }

// Check is one step of a phase: what it is, what reports call it, and how
// long after the phase's apply it may take to hold.
type Check interface {
	CheckKind() Kind
	StepName() string
	// Limit is the check's deadline, counted from the phase's apply;
	// 0 for steps that look once.
	Limit() time.Duration
}

func (Apply) CheckKind() Kind                  { return KindApply }
func (a Apply) StepName() string               { return a.Dir }
func (Apply) Limit() time.Duration             { return 0 }
func (DocumentCheck) CheckKind() Kind          { return KindDocument }
func (d DocumentCheck) StepName() string       { return d.Name }
func (d DocumentCheck) Limit() time.Duration   { return d.Timeout }
func (Count) CheckKind() Kind                  { return KindRecord }
func (c Count) StepName() string               { return c.Name }
func (Count) Limit() time.Duration             { return 0 }
func (Rise) CheckKind() Kind                   { return KindRise }
func (r Rise) StepName() string                { return r.Name }
func (r Rise) Limit() time.Duration            { return r.Timeout }
func (UpdateCheck) CheckKind() Kind            { return KindUpdates }
func (u UpdateCheck) StepName() string         { return u.Name }
func (u UpdateCheck) Limit() time.Duration     { return u.Timeout }
func (EnrichmentCheck) CheckKind() Kind        { return KindEnrichment }
func (e EnrichmentCheck) StepName() string     { return e.Name }
func (e EnrichmentCheck) Limit() time.Duration { return e.Timeout }
func (Workload) CheckKind() Kind               { return KindWorkload }
func (w Workload) StepName() string            { return w.Kind + "/" + w.Name + " " + w.Condition }
func (w Workload) Limit() time.Duration        { return w.Timeout }
func (PodCheck) CheckKind() Kind               { return KindPod }
func (p PodCheck) StepName() string            { return p.Name }
func (p PodCheck) Limit() time.Duration        { return p.Timeout }

func (Completeness) CheckKind() Kind        { return KindCompleteness }
func (Completeness) StepName() string       { return "every event accounted for" }
func (c Completeness) Limit() time.Duration { return c.Timeout }

// Watcher is a step that watches while the stage's other steps wait: it
// ends when what it looks for shows, at its deadline, or its SettleTime
// after the stage's other steps have ended, whichever comes first. What
// it watches for shows while they wait or soon after, so it lengthens a
// phase only when it never shows.
type Watcher interface {
	Check
	SettleTime() time.Duration
}

func (p PodCheck) SettleTime() time.Duration { return p.Settle }

// Apply is a phase's first step: its kustomization, applied server-side.
type Apply struct {
	Dir string
	// ExpectError: the apply must fail.
	ExpectError bool
}

// DashboardStep checks the panels of the dashboard checks.yaml names,
// after the phase it names.
type DashboardStep struct {
	DashboardCheck
	Title string
}

func (DashboardStep) CheckKind() Kind      { return KindPanel }
func (d DashboardStep) StepName() string   { return d.Title }
func (DashboardStep) Limit() time.Duration { return 0 }
