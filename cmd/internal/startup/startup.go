// Package startup readies the Go runtime for a short run of a CLI while the
// binary's packages initialize, before main; main calls Done first.
//
// Initialization is some 20 ms on one core (Envoy's API types, OPA, Helm
// and client-go register thousands of types) while the machine's other
// cores wait. Two things are done with that time:
//
//   - The collector is off. Initializers allocate some 9 MB, most of which
//     the run keeps, so each of the three collections that initialization
//     would run (at heap goals of 4 to 8 MiB) marks what is allocated so
//     far again and frees little: 4 ms of the 27 that `inzone lint --help`
//     takes.
//   - For `inzone lint`, another core faults in heap pages that the run
//     will allocate. A fresh heap page costs a page fault, about 1.6 µs
//     of kernel time, and a lint of a few MB of manifests faults in some
//     10,000 of them, in the part of the run where every core is busy.
//     Here a block of heap is allocated and written once per page on an
//     idle core; Done lets it go, the first collection frees it, and the
//     run's first allocations reuse its pages without a fault.
//
// The import path sorts before the packages that allocate most, and the
// package imports only the standard library, so Go's initialization order
// (by import path, once a package's imports are done) runs it early.
package startup

import (
	"os"
	"runtime"
	"runtime/debug"
	"sync/atomic"
)

// percent is the GOGC in effect before init turned the collector off: the
// GOGC environment variable's, or 100.
var percent = debug.SetGCPercent(-1)

// prefaultBytes is how much heap a lint run has pages faulted in for: less
// than a lint of a few MB allocates after initialization, so none of it is
// extra memory for such a run. On ../shared/corpus, 101 runs of each in
// turn, medians: 134.5 ms without, 125.9 with 16 MiB, 124.3 with 28; and
// in a second round 124.8 with 16, 122.1 with 24, 127.0 with 32 and 124.6
// with 40, which are not done before main, take more CPU and raised the
// peak RSS (136 and 143 MiB, from 131).
const prefaultBytes = 24 << 20

var (
	prefault []byte
	// stop ends the faulting early when main starts first, so that the
	// block is not kept alive past the first collection.
	stop atomic.Bool
)

func init() {
	if len(os.Args) < 2 || os.Args[1] != "lint" || runtime.GOMAXPROCS(0) < 2 {
		return
	}
	prefault = make([]byte, prefaultBytes)
	go touch(prefault)
}

// touch writes a byte of each page of b, which faults the page in.
func touch(b []byte) {
	page := os.Getpagesize()
	for i := 0; i < len(b) && !stop.Load(); i += page {
		b[i] = 0
	}
}

// Done ends the start: the collector gets its GOGC back and the block whose
// pages were faulted in is garbage for its first cycle to free.
func Done() {
	stop.Store(true)
	prefault = nil
	debug.SetGCPercent(percent)
}
