package main

import (
	"net/http"
	"net/http/pprof"
)

// profiles serves Go's runtime profiles (heap, allocs, goroutine, CPU
// profile, trace) under /debug/pprof/ on a mux of their own, so that they
// appear only at --pprof-address, never beside metrics or probes.
func profiles() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	return mux
}
