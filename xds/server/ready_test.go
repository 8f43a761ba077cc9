package server

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/inzone-io/inzone/xds/translate"
)

// TestNotReadyUntilABuildIsPublished: a first translation that fails
// validation leaves the Server not ready (its /readyz failing), however
// many builds fail; the first build that validates makes it ready.
func TestNotReadyUntilABuildIsPublished(t *testing.T) {
	s := newTestServer(t)
	var invalid atomic.Bool
	invalid.Store(true)
	validated := make(chan struct{}, 64)
	s.validate = func(out *translate.Output) error {
		defer func() { validated <- struct{}{} }()
		if invalid.Load() {
			return errors.New("a resource Envoy would reject")
		}
		return out.Validate()
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx, []Reader{objects()}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	wait := func(what string) {
		t.Helper()
		select {
		case <-validated:
		case <-time.After(time.Minute): // a failure bound, not a measurement
			t.Fatalf("no build %s", what)
		}
	}

	wait("at start")
	// A second build starts only once the first has returned, so Ready
	// is read after whatever the first build did to it.
	s.Changed()
	wait("after a change")
	if s.Ready() {
		t.Fatal("ready after builds that failed validation")
	}
	if s.Current() != nil {
		t.Error("a translation that failed validation is current")
	}

	invalid.Store(false)
	s.Changed()
	wait("after the fix")
	deadline := time.Now().Add(time.Minute)
	for !s.Ready() {
		if time.Now().After(deadline) {
			t.Fatal("not ready after a build that validated")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
