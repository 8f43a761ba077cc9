package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestProfilesServeRuntimeProfiles checks --pprof-address's mux serves the
// heap and goroutine profiles the benchmark takes, and nothing else.
func TestProfilesServeRuntimeProfiles(t *testing.T) {
	srv := httptest.NewServer(profiles())
	defer srv.Close()
	tests := []struct {
		name, path string
		status     int
		want       string
	}{
		{"the heap profile", "/debug/pprof/heap?debug=1", http.StatusOK, "heap profile:"},
		{"the allocations profile", "/debug/pprof/allocs?debug=1", http.StatusOK, "heap profile:"},
		{"the goroutine count", "/debug/pprof/goroutine?debug=1", http.StatusOK, "goroutine profile: total"},
		{"not the metrics", "/metrics", http.StatusNotFound, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := http.Get(srv.URL + tt.path)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
			if resp.StatusCode != tt.status {
				t.Fatalf("status %d, want %d", resp.StatusCode, tt.status)
			}
			if !strings.Contains(string(body), tt.want) {
				t.Errorf("body does not hold %q:\n%.300s", tt.want, body)
			}
		})
	}
}
