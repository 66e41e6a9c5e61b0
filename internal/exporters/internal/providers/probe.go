package providers

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/eventcheck/eventcheck/internal/eventindex"
)

// WaitExporting creates a probe Event in namespace default and waits up
// to timeout for its document in index: the exporter (who, in messages) is
// then watching and writing, whatever it is. A running pod or process is
// not that: in a fresh cluster a pod may not resolve OpenSearch's name for
// a minute. A route that drops the probe's namespace is no error: the run
// goes on, logged, and its checks tell. stopped, when not nil, reports an
// exporter that is gone (then waiting ends).
func WaitExporting(ctx context.Context, t Target, index, who string, timeout time.Duration, log *slog.Logger, stopped func() error) error {
	now := metav1.NewTime(time.Now())
	probe := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "eventcheck-probe." + rand.String(8), Namespace: metav1.NamespaceDefault},
		InvolvedObject: corev1.ObjectReference{Kind: "Namespace", Name: metav1.NamespaceDefault, APIVersion: "v1"},
		Type:           corev1.EventTypeNormal, Reason: "ExporterProbe", Message: "eventcheck checks that the exporter under test writes events",
		Source: corev1.EventSource{Component: "eventcheck"}, FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	created, err := t.Kube.CoreV1().Events(probe.Namespace).Create(ctx, probe, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("creating the probe event: %w", err)
	}
	defer func() {
		_ = t.Kube.CoreV1().Events(probe.Namespace).Delete(context.WithoutCancel(ctx), created.Name, metav1.DeleteOptions{})
	}()
	start := time.Now()
	search := eventindex.NewSearcher(t.Client, index)
	err = wait.PollUntilContextTimeout(ctx, 250*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		if stopped != nil {
			if err := stopped(); err != nil {
				return false, err
			}
		}
		counts, err := search.CountByUID(ctx, []string{string(created.UID)})
		return err == nil && counts[string(created.UID)] > 0, nil
	})
	switch {
	case err == nil:
		log.Info(who+" exports", "probe", types.NamespacedName{Namespace: probe.Namespace, Name: created.Name}, "after", time.Since(start).Round(time.Millisecond))
		return nil
	case wait.Interrupted(err) && ctx.Err() == nil:
		log.Warn("the "+who+" wrote no document for the probe event in namespace default; going on (its route may drop that namespace)",
			"index", index, "waited", timeout)
		return nil
	}
	return err
}
