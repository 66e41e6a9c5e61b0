package document

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"

	"github.com/eventcheck/eventcheck/exporter/config"
)

var update = flag.Bool("update", false, "rewrite the golden documents in fixtures/events")

type input struct {
	Event  corev1.Event `json:"event"`
	Object Object       `json:"object"`
}

const fixtures = "../../fixtures/events"

func options() Options {
	return Options{
		ClusterName: "eventcheck",
		DeDot:       true,
		UseEventID:  true,
		IndexFormat: func(t time.Time) (string, error) { return config.IndexName("eks-kubernetes-events-{2006-01-02}", t) },
	}
}

// Golden documents pin the shape the dashboard reads.
func TestGoldenDocuments(t *testing.T) {
	inputs, err := filepath.Glob(filepath.Join(fixtures, "*.input.json"))
	if err != nil || len(inputs) < 4 {
		t.Fatalf("fixtures: %v %v", inputs, err)
	}
	for _, in := range inputs {
		name := strings.TrimSuffix(filepath.Base(in), ".input.json")
		t.Run(name, func(t *testing.T) {
			var i input
			data, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &i); err != nil {
				t.Fatal(err)
			}
			doc, err := Build(&i.Event, i.Object, options())
			if err != nil {
				t.Fatal(err)
			}
			var pretty bytes.Buffer
			if err := json.Indent(&pretty, doc.Body, "", "  "); err != nil {
				t.Fatal(err)
			}
			golden := filepath.Join(fixtures, name+".doc.json")
			if *update {
				if err := os.WriteFile(golden, append(pretty.Bytes(), '\n'), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got := append(pretty.Bytes(), '\n'); !bytes.Equal(got, want) {
				t.Errorf("document differs from %s:\n%s", golden, got)
			}
			if doc.ID != string(i.Event.UID) || doc.UID != string(i.Event.UID) {
				t.Errorf("id %q uid %q, want the event UID %s", doc.ID, doc.UID, i.Event.UID)
			}
			if !strings.HasPrefix(doc.Index, "eks-kubernetes-events-2026-11-27") {
				t.Errorf("index %q", doc.Index)
			}
		})
	}
}

func TestEventsV1TimesAreFilled(t *testing.T) {
	var i input
	data, _ := os.ReadFile(filepath.Join(fixtures, "controller-series.input.json"))
	if err := json.Unmarshal(data, &i); err != nil {
		t.Fatal(err)
	}
	doc, err := Build(&i.Event, i.Object, options())
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		First string `json:"firstTimestamp"`
		Last  string `json:"lastTimestamp"`
		Count int    `json:"count"`
	}
	if err := json.Unmarshal(doc.Body, &body); err != nil {
		t.Fatal(err)
	}
	// metav1.Time has second precision in JSON.
	if body.Last != "2026-11-27T12:04:30Z" || body.First != "2026-11-27T12:00:03Z" || body.Count != 7 {
		t.Fatalf("filled %+v: want lastTimestamp from series.lastObservedTime, firstTimestamp from eventTime, count from series", body)
	}
	if !i.Event.LastTimestamp.IsZero() {
		t.Fatal("Build modified its input")
	}
}

func TestManagedFieldsAndDotsAreGone(t *testing.T) {
	var i input
	data, _ := os.ReadFile(filepath.Join(fixtures, "kubelet-failedmount.input.json"))
	if err := json.Unmarshal(data, &i); err != nil {
		t.Fatal(err)
	}
	doc, _ := Build(&i.Event, i.Object, options())
	s := string(doc.Body)
	if strings.Contains(s, "managedFields") || strings.Contains(s, `"app.kubernetes.io/created-by"`) || !strings.Contains(s, `"app_kubernetes_io/created-by":"eks-workshop"`) {
		t.Fatalf("body %s", s)
	}
	o := options()
	o.DeDot = false
	doc, _ = Build(&i.Event, i.Object, o)
	if !strings.Contains(string(doc.Body), `"app.kubernetes.io/created-by"`) {
		t.Fatal("keys changed without deDot")
	}
}

func FuzzBuild(f *testing.F) {
	inputs, _ := filepath.Glob(filepath.Join(fixtures, "*.input.json"))
	for _, in := range inputs {
		data, err := os.ReadFile(in)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var i input
		if json.Unmarshal(data, &i) != nil {
			return
		}
		before := i.Event.DeepCopy()
		doc, err := Build(&i.Event, i.Object, options())
		if err != nil {
			return
		}
		// Build copies only shallowly: the event (in the exporter, the
		// informer's) must come out exactly as it went in.
		if !apiequality.Semantic.DeepEqual(before, &i.Event) {
			t.Fatalf("Build modified its input:\nbefore %+v\nafter  %+v", before, &i.Event)
		}
		var back map[string]any
		if err := json.Unmarshal(doc.Body, &back); err != nil {
			t.Fatalf("document is not JSON: %v", err)
		}
		if _, ok := back["lastTimestamp"].(string); !ok && !i.Event.CreationTimestamp.IsZero() {
			t.Fatalf("lastTimestamp missing for an event with a creation time: %s", doc.Body)
		}
		if doc.ID != string(i.Event.UID) {
			t.Fatal("id is not the UID")
		}
	})
}
