package builtin

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
			n, reasons := rejectionsIn(b.String())
			want := []string{conflict + " (×9)", "mapper_parsing_exception: failed to parse (×1)"}
			if n != 10 || !reflect.DeepEqual(reasons, want) {
				t.Fatalf("got %d %q, want 10 %q", n, reasons, want)
			}
		})
	}
	if n, reasons := rejectionsIn("level=INFO msg=ready\n"); n != 0 || reasons != nil {
		t.Fatalf("a log without rejections: %d %q", n, reasons)
	}
}
