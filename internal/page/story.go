package page

import (
	"time"
)

// Story is what a page tells the learner will happen, in the terms a run
// can check: the phases it applies, the exporter it installs, the
// dashboard it links and the claims its code makes.
type Story struct {
	File string
	Lang string
	Path string
	// Manifests is the directory the learner's ~/environment/eks-workshop
	// stands for.
	Manifests string
	Phases    []Phase
	// Helm is the page's first helm install (or helm upgrade --install);
	// nil when it has none.
	Helm      *HelmInstall
	Dashboard *DashboardLink
	Claims    []Claim
	// Workloads are the names of the Deployments (and other pod owners)
	// the phases create, sorted: a prose claim names one of them.
	Workloads []string
	// Namespaces are those the story creates, sorted: the phases'
	// objects' namespaces and the Helm release's. A claim about any
	// other namespace is skipped.
	Namespaces []string
	// Problems did not stop the derivation: an apply output naming an
	// object the kustomization does not render, sample JSON that cannot
	// be parsed.
	Problems []*Error
}

// Phase is one kubectl apply -k of the page.
type Phase struct {
	// Name is the base name of the applied directory (base, fix).
	Name string
	// Dir is the directory in the manifests the page's path maps to.
	Dir string
	// PageDir is the path as the page writes it.
	PageDir string
	// Timeout is the annotation of the command's block.
	Timeout time.Duration
	// ExpectError is the block's expectError=true: the apply must fail.
	ExpectError bool
	Line        int
	// Objects are what the kustomization renders, in its order.
	Objects []Object
}

// Object is one object a phase applies.
type Object struct {
	APIVersion, Kind, Namespace, Name string
}

// HelmInstall is the page's helm install of the events exporter.
type HelmInstall struct {
	Release string
	// Chart is as written (oci://..., repo/chart), or the manifests
	// directory a workshop path maps to.
	Chart     string
	Namespace string
	// Values are the -f/--values files, workshop paths mapped.
	Values []string
	Set    []HelmSet
	// Version is "" when the page does not pin the chart.
	Version         string
	CreateNamespace bool
	Wait            bool
	// Other are the flags this package does not read, as written.
	Other []string
	Line  int
	// Phase is the last phase applied before the install, "" when none
	// is (the usual case: the exporter first, then the story).
	Phase string
}

// HelmSet is one --set (or --set-string, --set-json, ...) of an install.
type HelmSet struct {
	// Flag is set, set-string, set-json, set-file or set-literal.
	Flag string
	// Raw is the k=v text after the shell removed its quotes, variables
	// not expanded (config.receivers[0].opensearch.username=$OPENSEARCH_USER).
	Raw string
	// Vars are the environment variables the value reads, such as
	// OPENSEARCH_USER: the learner's environment supplies them, so a run
	// must too.
	Vars []string
}

// DashboardLink is the page's link to an OpenSearch dashboard.
type DashboardLink struct {
	// ID is the saved object's id, from .../dashboards#/view/<ID>, query
	// string stripped.
	ID   string
	URL  string
	Line int
	// Phase is the phase whose events the learner is looking at: the last
	// one applied before the link, or the first one when the link comes
	// before any.
	Phase string
}

// ClaimKind says what a claim is about, and so which Expectation it holds.
type ClaimKind string

// Claim kinds.
const (
	// KindApply is a line of kubectl apply -k output (AppliedObject).
	KindApply ClaimKind = "apply-output"
	// KindPodRow is a row of kubectl get pods output (PodRow).
	KindPodRow ClaimKind = "pod-row"
	// KindEventRow is a row of kubectl get events output (EventRow).
	KindEventRow ClaimKind = "event-row"
	// KindEventDocument is a JSON event or OpenSearch document
	// (EventDocument).
	KindEventDocument ClaimKind = "event-json"
	// KindProseEvent is an event named by the code spans of a paragraph
	// or list item (ProseEvent).
	KindProseEvent ClaimKind = "prose-event"
	// KindRise is an admonition's promise that a count goes up (Rise).
	KindRise ClaimKind = "rise"
	// KindExpectError is a command of an expectError=true block, which
	// must fail (ExpectedError).
	KindExpectError ClaimKind = "expect-error"
	// KindHook is a block's hook=NAME, which the workshop's runner runs
	// and eventcheck does not (Hook): always skipped, by name.
	KindHook ClaimKind = "hook"
)

// Claim is one thing the page says a learner will see, from its code only.
type Claim struct {
	// Key names the claim from code alone (kind, phase and the code that
	// identifies its subject), so that it is the same in every
	// translation; a repeat in the same phase gets #2, #3.
	Key  string
	Kind ClaimKind
	File string
	Line int
	// Phase is the last phase applied before the claim, "" when none is.
	Phase string
	// Text is the exact page text the claim comes from: an output line,
	// a JSON sample, or the code spans of a prose claim (backquoted), so
	// that it is the same in a faithful translation.
	Text string
	// Context is what surrounds Text: the command whose output it is, or
	// the prose unit's plain text. It is for reports, never compared.
	Context string
	// Skip says why the claim is not to be checked, "" when it is.
	Skip string
	// Wait is the wait= of the claim's block: how long the page has the
	// learner wait for what it shows. It is never slept; a step watching
	// for a passing state may watch that long.
	Wait   time.Duration
	Expect Expectation
}

// Expectation is what a claim expects: one of AppliedObject, PodRow,
// EventRow, EventDocument, ProseEvent and Rise.
type Expectation interface {
	kind() ClaimKind
}

// AppliedObject is a line such as deployment.apps/scenario-a configured.
type AppliedObject struct {
	// Resource and Group are as kubectl prints them (deployment, apps).
	Resource, Group string
	// Kind and Namespace are those of the object the phase renders by
	// that name; "" when it renders none.
	Kind, Namespace string
	Name            string
	// Action is created, unchanged, configured (or another kubectl word).
	Action string
}

// PodRow is a row of kubectl get pods.
type PodRow struct {
	Namespace string
	Name      string
	// NamePrefix is the pod's owner: Name without its ReplicaSet and pod
	// hashes.
	NamePrefix string
	Ready      string
	Status     string
}

// EventRow is a row of kubectl get events.
type EventRow struct {
	Namespace  string
	Type       string
	Reason     string
	ObjectKind string
	ObjectName string
	// ObjectPrefix is ObjectName without its hashes.
	ObjectPrefix string
	Message      string
}

// JSONKind is the kind of a JSON value.
type JSONKind string

// JSON kinds.
const (
	JSONString JSONKind = "string"
	JSONNumber JSONKind = "number"
	JSONBool   JSONKind = "bool"
	JSONObject JSONKind = "object"
	JSONArray  JSONKind = "array"
	JSONNull   JSONKind = "null"
)

// Field is a field path a sample JSON shows (involvedObject.kind, an
// array's elements as items[]) and the kind of its value.
type Field struct {
	Path string
	Kind JSONKind
}

// EventDocument is the JSON sample of an event (kubectl ... -o json | jq
// '.items[-1]') or of an OpenSearch document (curl ... _source).
type EventDocument struct {
	// Fields are sorted by path. For an OpenSearch answer they are those
	// of the document's _source.
	Fields []Field
	// Kubectl says the sample is the API's event as kubectl prints it,
	// not a stored document: its apiVersion and kind are what kubectl
	// adds to every object it lists.
	Kubectl      bool
	Namespace    string
	Type         string
	Reason       string
	Message      string
	ObjectKind   string
	ObjectName   string
	ObjectPrefix string
}

// ProseEvent is an event a paragraph or list item names in code spans: a
// workload with a reason, a message or both.
type ProseEvent struct {
	Workload string
	Reason   string
	Message  string
}

// Rise is an admonition's promise, after a later phase, that the number of
// documents of Type only goes up: what was counted before the phase stays,
// and the phase adds more.
type Rise struct {
	Type string
	// Before is the phase whose count the rise is from.
	Before string
}

func (AppliedObject) kind() ClaimKind { return KindApply }
func (PodRow) kind() ClaimKind        { return KindPodRow }
func (EventRow) kind() ClaimKind      { return KindEventRow }
func (EventDocument) kind() ClaimKind { return KindEventDocument }
func (ProseEvent) kind() ClaimKind    { return KindProseEvent }
func (Rise) kind() ClaimKind          { return KindRise }
func (ExpectedError) kind() ClaimKind { return KindExpectError }
func (Hook) kind() ClaimKind          { return KindHook }

// ExpectedError is a command the page expects to fail.
type ExpectedError struct {
	Command string
	// Phase is the phase a kubectl apply -k of the block is, whose apply
	// must be refused; "" for a command the run does not perform.
	Phase string
	// Refused is kustomize's error when the apply's kustomization does
	// not render: kubectl fails before it reaches the API.
	Refused string
}

// Hook is a block's hook=NAME: tests/hook-NAME.sh beside the page, which
// the workshop's runner runs before and after the block.
type Hook struct {
	Name string
	// Script is the hook's path; Exists says whether it is there.
	Script string
	Exists bool
}
