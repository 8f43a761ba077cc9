package lintcmd

import (
	"os"
	"runtime/debug"
	"runtime/metrics"
	"time"
)

// memoryGuard bounds a run's heap: it sets the collector's soft limit (so
// the heap is collected harder as it nears the limit, unless GOMEMLIMIT
// already sets one) and samples the live heap, calling exceeded once when
// what survived the last collection passes the limit. It is how lint gives
// a clear error rather than being killed by the kernel, or by the runtime
// with exit code 2.
type memoryGuard struct {
	stop     chan struct{}
	done     chan struct{}
	restore  bool
	previous int64 // the soft limit before
}

// guardInterval is how often the live heap is sampled: it only changes at
// the end of a collection, which the soft limit makes frequent near it.
const guardInterval = 20 * time.Millisecond

// startMemoryGuard starts a guard; limit 0 starts none.
func startMemoryGuard(limit int64, exceeded func(live uint64)) *memoryGuard {
	g := &memoryGuard{stop: make(chan struct{}), done: make(chan struct{})}
	if limit <= 0 {
		close(g.done)
		return g
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		g.previous, g.restore = debug.SetMemoryLimit(limit), true
	}
	go func() {
		defer close(g.done)
		sample := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		tick := time.NewTicker(guardInterval)
		defer tick.Stop()
		for {
			select {
			case <-g.stop:
				return
			case <-tick.C:
			}
			metrics.Read(sample)
			if sample[0].Value.Kind() == metrics.KindUint64 {
				if live := sample[0].Value.Uint64(); live > uint64(limit) {
					exceeded(live)
					return
				}
			}
		}
	}()
	return g
}

// Stop ends the guard's sampling and restores the soft limit.
func (g *memoryGuard) Stop() {
	select {
	case <-g.done:
	default:
		close(g.stop)
		<-g.done
	}
	if g.restore {
		debug.SetMemoryLimit(g.previous)
		g.restore = false
	}
}
