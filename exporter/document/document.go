// Package document turns a Kubernetes event into the OpenSearch document
// the workshop's dashboard reads: the event itself (as upstream writes it),
// the cluster name, and the involved object's labels, annotations, owners
// and whether it still exists.
package document

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Object is what enrichment learned about the involved object.
type Object struct {
	Labels          map[string]string       `json:"labels,omitempty"`
	Annotations     map[string]string       `json:"annotations,omitempty"`
	OwnerReferences []metav1.OwnerReference `json:"ownerReferences,omitempty"`
	Deleted         bool                    `json:"deleted"`
}

// InvolvedObject is the event's object reference, enriched; both embedded
// structs flatten into one JSON object, as upstream writes it.
type InvolvedObject struct {
	corev1.ObjectReference
	Object
}

// Body is the document: the event's fields at the top level, with the
// involved object enriched (the outer field shadows the event's own).
type Body struct {
	*corev1.Event
	ClusterName    string         `json:"clusterName"`
	InvolvedObject InvolvedObject `json:"involvedObject"`
}

// Options shape the documents.
type Options struct {
	ClusterName string
	// DeDot replaces dots in label and annotation keys with underscores,
	// for OpenSearch versions and mappings that treat dots as objects.
	DeDot bool
	// Index names the index; IndexFormat, if set, is a name with {...}
	// Go time layouts rendered from the event's first observation.
	Index       string
	IndexFormat func(time.Time) (string, error)
	// UseEventID makes the document id the event UID (idempotent writes).
	UseEventID bool
}

// Document is one indexing operation.
type Document struct {
	// UID of the event: the key under which newer versions replace older.
	UID   string
	Index string
	// ID is the document id ("" lets OpenSearch choose one).
	ID   string
	Body []byte
	// Observed is when the event was last observed (for latency metrics).
	Observed time.Time
	// Delivered is when the watch delivered this version, zero when not
	// from a watch (for the exporter's own latency metric).
	Delivered time.Time
}

// Build maps an event (and what is known of its object) to a document.
// The event is not modified.
func Build(ev *corev1.Event, obj Object, o Options) (*Document, error) {
	// A shallow copy: only top-level fields are set below (and the maps
	// deDot returns are new), so the caller's event stays as it was
	// without the cost of a deep copy.
	e := new(corev1.Event)
	*e = *ev
	e.ManagedFields = nil
	FillTimes(e)
	if o.DeDot {
		e.Labels = deDot(e.Labels)
		e.Annotations = deDot(e.Annotations)
		obj.Labels = deDot(obj.Labels)
		obj.Annotations = deDot(obj.Annotations)
	}
	body := Body{Event: e, ClusterName: o.ClusterName, InvolvedObject: InvolvedObject{ObjectReference: e.InvolvedObject, Object: obj}}
	data, err := json.Marshal(body)
	if err != nil {
		return nil, fmt.Errorf("event %s/%s: %w", e.Namespace, e.Name, err)
	}
	index := o.Index
	if o.IndexFormat != nil {
		// The first observation never changes, so every version of an
		// event goes to the same index (no duplicates across days).
		if index, err = o.IndexFormat(e.FirstTimestamp.Time); err != nil {
			return nil, err
		}
	}
	d := &Document{UID: string(e.UID), Index: index, Body: data, Observed: e.LastTimestamp.Time}
	if o.UseEventID {
		d.ID = string(e.UID)
	}
	return d, nil
}

// LastTimestamp is the time FillTimes would give lastTimestamp, without
// changing the event.
func LastTimestamp(e *corev1.Event) time.Time {
	switch {
	case !e.LastTimestamp.IsZero():
		return e.LastTimestamp.Time
	case e.Series != nil && !e.Series.LastObservedTime.IsZero():
		return e.Series.LastObservedTime.Time
	case !e.EventTime.IsZero():
		return e.EventTime.Time
	default:
		return e.CreationTimestamp.Time
	}
}

// FillTimes gives events written through events.k8s.io/v1 (the
// scheduler's, for one) the core/v1 fields a dashboard reads: those events
// have null firstTimestamp, lastTimestamp and count, and would be
// invisible on a dashboard whose time field is lastTimestamp.
//
//	lastTimestamp  ← series.lastObservedTime, else eventTime, else metadata.creationTimestamp
//	firstTimestamp ← eventTime, else metadata.creationTimestamp
//	count          ← series.count, else 1
func FillTimes(e *corev1.Event) {
	if e.LastTimestamp.IsZero() {
		e.LastTimestamp = metav1.NewTime(LastTimestamp(e))
	}
	if e.FirstTimestamp.IsZero() {
		if !e.EventTime.IsZero() {
			e.FirstTimestamp = metav1.NewTime(e.EventTime.Time)
		} else {
			e.FirstTimestamp = e.CreationTimestamp
		}
	}
	if e.Count == 0 {
		e.Count = 1
		if e.Series != nil && e.Series.Count > 0 {
			e.Count = e.Series.Count
		}
	}
}

func deDot(m map[string]string) map[string]string {
	if m == nil {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ReplaceAll(k, ".", "_")] = v
	}
	return out
}
