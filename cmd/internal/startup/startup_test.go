package startup

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"strconv"
	"testing"
)

// TestCollectorOffUntilDone runs in a child process per GOGC, as Done
// works once per process.
func TestCollectorOffUntilDone(t *testing.T) {
	if os.Getenv("STARTUP_CHILD") != "" {
		// The collector is off until Done, which gives back GOGC's value.
		if p := debug.SetGCPercent(-1); p != -1 {
			t.Fatalf("before Done: GOGC %d, want off (-1)", p)
		}
		Done()
		want := 100
		if g := os.Getenv("GOGC"); g != "" {
			want, _ = strconv.Atoi(g)
		}
		if p := debug.SetGCPercent(want); p != want {
			t.Fatalf("after Done: GOGC %d, want %d", p, want)
		}
		return
	}
	for _, gogc := range []string{"", "37"} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestCollectorOffUntilDone$")
		cmd.Env = append(os.Environ(), "STARTUP_CHILD=1", "GOGC="+gogc)
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("GOGC=%q: %v\n%s", gogc, err, out)
		}
	}
}

func TestTouchWritesEveryPageUntilStopped(t *testing.T) {
	page := os.Getpagesize()
	b := make([]byte, 3*page+1)
	for i := range b {
		b[i] = 1
	}
	touch(b)
	for i, c := range b {
		want := byte(1)
		if i%page == 0 {
			want = 0 // the page's first byte, written
		}
		if c != want {
			t.Fatalf("byte %d: %d, want %d", i, c, want)
		}
	}
	stop.Store(true)
	defer stop.Store(false)
	b[0] = 1
	touch(b)
	if b[0] != 1 {
		t.Fatal("touch wrote after stop")
	}
}

func TestGCPercent(t *testing.T) {
	for _, c := range []struct {
		lint    bool
		env     string
		percent int
		want    int
	}{
		{lint: true, env: "", percent: 100, want: LintGCPercent},
		{lint: true, env: "150", percent: 150, want: 150}, // GOGC set: it wins
		{lint: true, env: "off", percent: -1, want: -1},
		{lint: false, env: "", percent: 100, want: 100}, // not lint: the default
	} {
		if got := gcPercent(c.lint, c.env, c.percent); got != c.want {
			t.Errorf("gcPercent(lint %v, GOGC %q, %d) = %d, want %d", c.lint, c.env, c.percent, got, c.want)
		}
	}
}

func TestNoMemoryProfiling(t *testing.T) {
	if runtime.MemProfileRate != 0 {
		t.Errorf("MemProfileRate = %d, want 0 from init", runtime.MemProfileRate)
	}
}
