package server

import (
	"context"
	"slices"
	"testing"
	"time"

	testingclock "k8s.io/utils/clock/testing"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/translate"
)

// heldReader is a Reader that tells the test when a build reads the
// objects, at which fake time, and holds the build there until the test
// releases it: a build is observed, never waited for by the clock.
type heldReader struct {
	clk     *testingclock.FakeClock
	src     translate.Source
	reads   chan time.Time
	release chan struct{}
	done    chan struct{}
}

func (r *heldReader) Read() translate.Source {
	select {
	case r.reads <- r.clk.Now():
	case <-r.done:
		return r.src
	}
	select {
	case <-r.release:
	case <-r.done:
	}
	return r.src
}

// coalescing runs a Server's Run on a fake clock and a heldReader.
type coalescing struct {
	t   *testing.T
	s   *Server
	clk *testingclock.FakeClock
	r   *heldReader
	t0  time.Time
}

const (
	testQuiet    = 100 * time.Millisecond
	testMaxDelay = time.Second
)

func startCoalescing(t *testing.T) *coalescing {
	t.Helper()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := testingclock.NewFakeClock(t0)
	tr, err := translate.New(mutate.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := New(ctx, tr, Options{Quiet: testQuiet, MaxDelay: testMaxDelay, Clock: clk})
	r := &heldReader{clk: clk, src: objects().src, reads: make(chan time.Time), release: make(chan struct{}), done: make(chan struct{})}
	ran := make(chan struct{})
	go func() { _ = s.Run(ctx, []Reader{r}); close(ran) }()
	t.Cleanup(func() {
		close(r.done)
		cancel()
		<-ran
	})
	h := &coalescing{t: t, s: s, clk: clk, r: r, t0: t0}
	// Run's first build reads at once, before any change.
	if at := h.read(); at != 0 {
		t.Fatalf("first build at %v, want at once", at)
	}
	h.r.release <- struct{}{}
	return h
}

// read waits for the next build to read the objects (a failure deadline,
// not a measurement) and says when, on the fake clock, from t0.
func (h *coalescing) read() time.Duration {
	h.t.Helper()
	select {
	case at := <-h.r.reads:
		return at.Sub(h.t0)
	case <-time.After(time.Minute):
		h.t.Fatalf("no build at %v", h.clk.Now().Sub(h.t0))
		return 0
	}
}

// settle waits until Run, with changes pending, has armed its timer, or
// a build read the objects; it says whether one did, and when.
func (h *coalescing) settle() (at time.Duration, built bool) {
	h.t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		select {
		case t := <-h.r.reads:
			return t.Sub(h.t0), true
		default:
		}
		if h.clk.Waiters() == 1 {
			return 0, false
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("at %v, with changes pending: neither a timer armed nor a build", h.clk.Now().Sub(h.t0))
		}
		time.Sleep(20 * time.Microsecond)
	}
}

// TestCoalescingPolicy drives Run on a fake clock, a tick of 10ms at a
// time, with changes at given instants, and checks the instants the
// objects are read for a build: after Quiet (100ms) without a change, or
// MaxDelay (1s) after the burst's first change, whichever comes first;
// nothing is lost, nothing is built twice. Each case ends with a probe: a
// lone change after the script, built exactly Quiet later, so that a
// spurious build queued behind the script would be caught.
func TestCoalescingPolicy(t *testing.T) {
	const tick = 10 * time.Millisecond
	for _, tc := range []struct {
		name string
		// changes are the milliseconds, from the first build, at which a
		// change arrives (after a build due at the same instant).
		changes []int
		// during are changes arriving while the build at that millisecond
		// reads the objects, by how many.
		during map[int]int
		builds []int // want, in milliseconds
	}{{
		name:    "a burst of 10 changes within the quiet period is one build, a quiet period after the last",
		changes: []int{0, 10, 20, 30, 40, 50, 60, 70, 80, 90},
		builds:  []int{190},
	}, {
		name:    "one change is built a quiet period later",
		changes: []int{300},
		builds:  []int{400},
	}, {
		name:    "a steady stream closer than the quiet period is built at the max delay, then again",
		changes: every(0, 2450, 50),
		builds:  []int{1000, 2000, 2550},
	}, {
		name:    "a change after a quiet period starts a new burst, with its own max delay",
		changes: append([]int{0}, every(500, 1950, 50)...),
		builds:  []int{100, 1500, 2050},
	}, {
		name:    "changes a quiet period apart are separate builds",
		changes: []int{0, 100, 200},
		builds:  []int{100, 200, 300},
	}, {
		name:    "changes while a build reads are built after it, as a new burst",
		changes: []int{0},
		during:  map[int]int{100: 3},
		builds:  []int{100, 200},
	}} {
		t.Run(tc.name, func(t *testing.T) {
			h := startCoalescing(t)
			last := slices.Max(append(slices.Clone(tc.changes), tc.builds...))
			probe := last + int((testMaxDelay+testQuiet)/time.Millisecond)
			changes := append(slices.Clone(tc.changes), probe)
			want := append(slices.Clone(tc.builds), probe+int(testQuiet/time.Millisecond))
			var got []int
			pending := false // changes not yet read by a build
			for now := 0; now <= want[len(want)-1]; now += int(tick / time.Millisecond) {
				if now > 0 {
					armed := h.clk.Waiters() == 1
					h.clk.Step(tick)
					if armed {
						if at, built := h.settle(); built {
							got = append(got, int(at/time.Millisecond))
							pending = false
							for range tc.during[now] {
								h.s.Changed()
								pending = true
							}
							h.r.release <- struct{}{}
						}
					}
				}
				if pending {
					// Changes arrived during the build: Run takes them up
					// after it (or builds when it should not).
					if at, built := h.settle(); built {
						t.Fatalf("a build at %dms with no change due; builds so far %v", at/time.Millisecond, got)
					}
				}
				for range count(changes, now) {
					h.s.Changed()
					pending = true
					if at, built := h.settle(); built {
						t.Fatalf("a build at %dms, right after a change; builds so far %v", at/time.Millisecond, got)
					}
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("builds at %v ms, want %v (the last is the probe)", got, want)
			}
		})
	}
}

// every is the milliseconds from first to last, step apart.
func every(first, last, step int) []int {
	var out []int
	for ms := first; ms <= last; ms += step {
		out = append(out, ms)
	}
	return out
}

func count(s []int, v int) int {
	n := 0
	for _, x := range s {
		if x == v {
			n++
		}
	}
	return n
}
