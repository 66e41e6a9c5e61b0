package builtin

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/eventcheck/eventcheck/exporter/sink"
	"github.com/eventcheck/eventcheck/internal/exporterenv"
	"github.com/eventcheck/eventcheck/internal/exporters/internal/providers"
)

// podLogs reads the logs of every exporter pod (a standby of leader
// election logs nothing it did not do).
func podLogs(t providers.Target) func(context.Context) (string, error) {
	kube := t.Kube
	return func(ctx context.Context) (string, error) {
		pods, err := kube.CoreV1().Pods(exporterenv.Namespace).List(ctx, metav1.ListOptions{LabelSelector: "app.kubernetes.io/name=events-exporter"})
		if err != nil {
			return "", fmt.Errorf("listing the exporter's pods in %s: %w", exporterenv.Namespace, err)
		}
		var b strings.Builder
		for _, p := range pods.Items {
			rc, err := kube.CoreV1().Pods(p.Namespace).GetLogs(p.Name, &corev1.PodLogOptions{}).Stream(ctx)
			if err != nil {
				return "", fmt.Errorf("reading the log of exporter pod %s/%s: %w", p.Namespace, p.Name, err)
			}
			_, err = io.Copy(&b, io.LimitReader(rc, 64<<20))
			rc.Close()
			if err != nil {
				return "", fmt.Errorf("reading the log of exporter pod %s/%s: %w", p.Namespace, p.Name, err)
			}
		}
		return b.String(), nil
	}
}

var textReason = regexp.MustCompile(`\breason=("(?:[^"\\]|\\.)*"|\S+)`)

// rejectionsIn counts the exporter's rejection lines (slog JSON or text)
// and collects their distinct reasons, most frequent first.
func rejectionsIn(log string) (count int64, reasons []string) {
	byReason := map[string]int{}
	for line := range strings.Lines(log) {
		if !strings.Contains(line, sink.RejectedMessage) {
			continue
		}
		count++
		var reason string
		var rec struct {
			Reason string `json:"reason"`
		}
		if json.Unmarshal([]byte(line), &rec) == nil {
			reason = rec.Reason
		} else if m := textReason.FindStringSubmatch(line); m != nil {
			reason = m[1]
			if unq, err := strconv.Unquote(reason); err == nil {
				reason = unq
			}
		}
		byReason[reason]++
	}
	type kv struct {
		reason string
		n      int
	}
	var all []kv
	for r, n := range byReason {
		all = append(all, kv{r, n})
	}
	slices.SortFunc(all, func(a, b kv) int { return cmp.Or(b.n-a.n, strings.Compare(a.reason, b.reason)) })
	for _, x := range all {
		reasons = append(reasons, fmt.Sprintf("%s (×%d)", cmp.Or(x.reason, "no reason given"), x.n))
	}
	return count, reasons
}
