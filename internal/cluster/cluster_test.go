package cluster

import (
	"context"
	"strings"
	"testing"
)

func TestNewRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	if _, err := New(ctx, "minikube"); err == nil || !strings.Contains(err.Error(), `"minikube"`) || !strings.Contains(err.Error(), "kubeconfig") {
		t.Fatalf("unknown provider error = %v", err)
	}
	if _, err := New(ctx, Local, WithNodes(0)); err == nil || !strings.Contains(err.Error(), "at least 1") {
		t.Fatalf("zero nodes error = %v", err)
	}
}
