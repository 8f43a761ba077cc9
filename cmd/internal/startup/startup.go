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
// The run's own settings are made here too: no memory profiling (a CLI
// serves no profiles, and each sampled allocation records its stack), and
// a lint run's GOGC (LintGCPercent).
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

// LintGCPercent is the GOGC of `inzone lint` when the GOGC environment
// variable is not set. A lint run's live heap is small and flat (each
// worker holds one file and one document's tree) and mostly the binary's
// own: Envoy's type registry and the compiled policies, some 15 MiB that
// every collection marks again. At the default of 100 a run collects after
// every few MiB allocated, a quarter of its CPU. On ../shared/corpus, 31
// runs of each in turn: 400 took 0.212 s of CPU to 200's 0.233, with the
// same peak RSS (95 MiB); 600 and more faulted in more fresh heap pages
// than the collections they saved.
const LintGCPercent = 400

// prefaultBytes is how much heap a lint run has pages faulted in for: less
// than a lint of a few MB allocates after initialization, so none of it is
// extra memory for such a run. On ../shared/corpus, 101 runs of each in
// turn, medians: 134.5 ms without, 125.9 with 16 MiB, 124.3 with 28; and
// in a second round 124.8 with 16, 122.1 with 24, 127.0 with 32 and 124.6
// with 40, which are not done before main, take more CPU and raised the
// peak RSS (136 and 143 MiB, from 131). Again with LintGCPercent and a
// static binary: 107.6 ms without, 108.8 with 12 MiB, 104.1 with 24.
const prefaultBytes = 24 << 20

var (
	prefault []byte
	// stop ends the faulting early when main starts first, so that the
	// block is not kept alive past the first collection.
	stop atomic.Bool
)

// lint says whether the command is `inzone lint`.
var lint = len(os.Args) > 1 && os.Args[1] == "lint"

func init() {
	// As early as the runtime allows: allocations before this are sampled.
	runtime.MemProfileRate = 0
	if !lint || runtime.GOMAXPROCS(0) < 2 {
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

// Done ends the start: the collector gets its GOGC back (LintGCPercent for
// a lint run unless GOGC is set) and the block whose pages were faulted in
// is garbage for its first cycle to free.
func Done() {
	stop.Store(true)
	prefault = nil
	debug.SetGCPercent(gcPercent(lint, os.Getenv("GOGC"), percent))
}

// gcPercent is the GOGC to run main with.
func gcPercent(lint bool, env string, percent int) int {
	if lint && env == "" {
		return LintGCPercent
	}
	return percent
}
