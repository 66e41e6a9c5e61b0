package harness

import (
	"bytes"
	"log/slog"
	"reflect"
	"testing"

	"github.com/eventcheck/eventcheck/exporter/sink"
)

// The exporter logs one line per rejected document, as slog text (in
// process) or JSON (in a pod); both are read back the same.
func TestRejectionsInReadsTextAndJSONLogs(t *testing.T) {
	conflict := "illegal_argument_exception: can't merge a non object mapping [involvedObject.labels.app] with an object mapping"
	for name, handler := range map[string]func(*bytes.Buffer) slog.Handler{
		"text": func(b *bytes.Buffer) slog.Handler { return slog.NewTextHandler(b, nil) },
		"json": func(b *bytes.Buffer) slog.Handler { return slog.NewJSONHandler(b, nil) },
	} {
		t.Run(name, func(t *testing.T) {
			var b bytes.Buffer
			log := slog.New(handler(&b))
			log.Info("bulk request sent", "docs", 3)
			for range 9 {
				log.Error(sink.RejectedMessage, "uid", "u", "status", 400, "reason", conflict)
			}
			log.Error(sink.RejectedMessage, "uid", "v", "status", 400, "reason", "mapper_parsing_exception: failed to parse")
			got := rejectionsIn(b.String())
			want := []string{conflict + " (×9)", "mapper_parsing_exception: failed to parse (×1)"}
			if got.Count != 10 || !reflect.DeepEqual(got.Reasons, want) {
				t.Fatalf("got %d %q, want 10 %q", got.Count, got.Reasons, want)
			}
		})
	}
	if got := rejectionsIn("level=INFO msg=ready\n"); got.Count != 0 || got.Reasons != nil {
		t.Fatalf("a log without rejections: %+v", got)
	}
}
