package check

import (
	"context"
	"time"

	apimachinerywait "k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/e2e-framework/klient/wait"
)

// poll is how often conditions look again; it bounds the resolution of
// the measured apply-to-holds latency.
const poll = 200 * time.Millisecond

// lastLook is the least time a check is given when it starts at or past
// its deadline (a later stage of a phase whose earlier checks used the
// time up): one look, then its verdict.
const lastLook = 2 * time.Second

// until waits for cond until deadline, looking at least once, and returns
// when it held; a zero time and the wait's error when it did not.
// Conditions keep their own last finding for the verdict.
func until(ctx context.Context, deadline time.Time, cond apimachinerywait.ConditionWithContextFunc) (time.Time, error) {
	var held time.Time
	err := wait.For(func(ctx context.Context) (bool, error) {
		ok, err := cond(ctx)
		if ok && err == nil {
			held = time.Now()
		}
		return ok, err
	}, wait.WithContext(ctx), wait.WithTimeout(max(time.Until(deadline), lastLook)), wait.WithInterval(poll), wait.WithImmediate())
	return held, err
}
