package eventindex

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/opensearch-project/opensearch-go/v4/opensearchapi"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/eventcheck/eventcheck/exporter/document"
)

// The workshop's Deployments carry app and app.kubernetes.io/created-by:
// mapped dynamically, the second makes involvedObject.labels.app an object
// while the first made it a string, and OpenSearch rejected every event
// about a Deployment. With the template, every document is indexed with
// deDot on and off, and the labels stay searchable.
func TestConflictingLabelKeysIndexWithAndWithoutDeDot(t *testing.T) {
	needServer(t)
	ctx := context.Background()
	if err := ApplyTemplate(ctx, client); err != nil {
		t.Fatal(err)
	}
	for _, deDot := range []bool{false, true} {
		t.Run(fmt.Sprintf("deDot=%t", deDot), func(t *testing.T) {
			index := fmt.Sprintf("%s-labels-%t", Index, deDot)
			t.Cleanup(func() {
				_, _ = client.Indices.Delete(ctx, opensearchapi.IndicesDeleteReq{Indices: []string{index}})
			})
			// Both orders: whichever key is mapped first, the other must fit.
			objects := []document.Object{
				{Labels: map[string]string{"app": "scenario-a", "app.kubernetes.io/created-by": "eks-workshop"}},
				{Labels: map[string]string{"app.kubernetes.io/name": "x"}, Annotations: map[string]string{"deployment.kubernetes.io/revision": "1"}},
				{Labels: map[string]string{"app": "scenario-b"}, Annotations: map[string]string{"deployment": "plain"}},
			}
			var bulk bytes.Buffer
			var uids []string
			for i, obj := range objects {
				uid := fmt.Sprintf("labels-%t-%d", deDot, i)
				uids = append(uids, uid)
				ev := &corev1.Event{
					ObjectMeta:     metav1.ObjectMeta{Name: uid, Namespace: "test", UID: types.UID(uid), Labels: obj.Labels},
					InvolvedObject: corev1.ObjectReference{Kind: "Deployment", Name: "scenario-a", Namespace: "test"},
					Type:           "Normal", Reason: "ScalingReplicaSet", Message: "Scaled up replica set",
					LastTimestamp: metav1.NewTime(base),
				}
				doc, err := document.Build(ev, obj, document.Options{DeDot: deDot, Index: index, UseEventID: true})
				if err != nil {
					t.Fatal(err)
				}
				fmt.Fprintf(&bulk, `{"index":{"_index":%q,"_id":%q}}`+"\n%s\n", doc.Index, doc.ID, doc.Body)
			}
			resp, err := client.Bulk(ctx, opensearchapi.BulkReq{Body: &bulk, Params: opensearchapi.BulkParams{Refresh: "true"}})
			if err != nil {
				t.Fatal(err)
			}
			for _, item := range resp.Items {
				for _, r := range item {
					if r.Error != nil {
						t.Errorf("document %s rejected: %s: %s", r.ID, r.Error.Type, r.Error.Reason)
					}
				}
			}
			s := &Searcher{Client: client, Index: index}
			counts, err := s.CountByUID(ctx, append(uids, "not-written"))
			if err != nil {
				t.Fatal(err)
			}
			for _, uid := range uids {
				if counts[uid] != 1 {
					t.Errorf("uid %s: %d documents, want 1", uid, counts[uid])
				}
			}
			if _, ok := counts["not-written"]; ok {
				t.Errorf("a UID never written has documents: %v", counts)
			}
			key := "app"
			n, err := s.Count(ctx, Query{}.And(map[string]any{"term": map[string]any{"involvedObject.labels." + key: "scenario-a"}}))
			if err != nil || n != 1 {
				t.Errorf("involvedObject.labels.app = scenario-a: %d documents (%v), want 1: labels must stay searchable", n, err)
			}
		})
	}
}

// ByUID asks for up to 100 documents per UID: for more than 100 UIDs that
// was over OpenSearch's result window, and every such search was refused.
func TestByUIDFindsEveryDocumentOfManyUIDs(t *testing.T) {
	needServer(t)
	ctx := context.Background()
	index := Index + "-byuid"
	t.Cleanup(func() {
		_, _ = client.Indices.Delete(ctx, opensearchapi.IndicesDeleteReq{Indices: []string{index}})
	})
	var bulk bytes.Buffer
	var uids []string
	for i := range 150 {
		uid := fmt.Sprintf("byuid-%d", i)
		uids = append(uids, uid)
		fmt.Fprintf(&bulk, `{"index":{"_index":%q,"_id":%q}}`+"\n"+`{"metadata":{"uid":%q}}`+"\n", index, uid, uid)
	}
	if _, err := client.Bulk(ctx, opensearchapi.BulkReq{Body: &bulk, Params: opensearchapi.BulkParams{Refresh: "true"}}); err != nil {
		t.Fatal(err)
	}
	s := &Searcher{Client: client, Index: index}
	docs, err := s.ByUID(ctx, uids...)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != len(uids) {
		t.Errorf("%d documents for %d UIDs, want one each", len(docs), len(uids))
	}
}
