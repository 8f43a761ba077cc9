package server

import (
	"context"
	"time"

	"golang.org/x/time/rate"
)

// A stream's requests are paced: each costs one token, and one more per
// namesPerToken names it carries, from a bucket of requestBurst tokens
// refilled at requestTokensPerSecond. go-control-plane does work for each
// request in proportion to its names (a new subscription set, a new
// watch), so without it one stream resending 100,000 names as fast as the
// network carries them keeps a core busy. A proxy asks once per type at
// start and acknowledges each push, a few requests a second even while
// the cluster churns: it never waits. A stream over the rate waits before
// its next request is handed to go-control-plane, which slows only that
// stream (its client's sends back up on gRPC's flow control).
const (
	requestTokensPerSecond = 100
	requestBurst           = 200
	namesPerToken          = 1000
)

// requestThrottle is one stream's bucket; now is the clock (tests stop it).
type requestThrottle struct {
	l   *rate.Limiter
	now func() time.Time
}

func newRequestThrottle() requestThrottle {
	return requestThrottle{rate.NewLimiter(requestTokensPerSecond, requestBurst), time.Now}
}

// requestCost is the tokens a request of names names takes, at most the
// whole bucket.
func requestCost(names int) int { return min(1+names/namesPerToken, requestBurst) }

// delay takes a request's tokens at now and returns how long it must wait.
func (t requestThrottle) delay(now time.Time, names int) time.Duration {
	return t.l.ReserveN(now, requestCost(names)).DelayFrom(now)
}

// wait takes a request's tokens and waits until they are due, or ctx
// ends. It reports whether the request had to wait.
func (t requestThrottle) wait(ctx context.Context, names int) (bool, error) {
	d := t.delay(t.now(), names)
	if d <= 0 {
		return false, nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return true, ctx.Err()
	case <-timer.C:
		return true, nil
	}
}
