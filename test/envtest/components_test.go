package envtest

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestComponentStopKillsItsProcessGroup: a component that forked a child
// and ignores SIGTERM is gone, child included, once stop returns, and its
// folder with it.
func TestComponentStopKillsItsProcessGroup(t *testing.T) {
	dir := t.TempDir()
	c := &component{name: "sh", dir: filepath.Join(dir, "component"), logPath: filepath.Join(dir, "sh.log"), done: make(chan struct{}), grace: 100 * time.Millisecond}
	if err := os.Mkdir(c.dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := c.start("/bin/sh", []string{"-c", `trap "" TERM; sleep 300 & echo "child $!"; wait`}); err != nil {
		t.Fatal(err)
	}
	var child int
	for deadline := time.Now().Add(10 * time.Second); child == 0 && time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if pid, ok := strings.CutPrefix(strings.TrimSpace(c.logTail()), "child "); ok {
			child, _ = strconv.Atoi(pid)
		}
	}
	if child == 0 {
		t.Fatalf("the component did not report its child: %q", c.logTail())
	}
	if err := c.stop(); err != nil {
		t.Fatal(err)
	}
	select {
	case <-c.done:
	default:
		t.Fatal("stop returned before the component exited")
	}
	// The child was reparented to init, which reaps it soon after SIGKILL.
	for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		if err := syscall.Kill(child, 0); errors.Is(err, syscall.ESRCH) {
			break
		}
		if time.Now().After(deadline) {
			_ = syscall.Kill(child, syscall.SIGKILL)
			t.Fatalf("child %d of the component is still running after stop", child)
		}
	}
	if _, err := os.Stat(c.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the component's folder is still there: %v", err)
	}
}

// TestComponentLogTail keeps the end of a long log.
func TestComponentLogTail(t *testing.T) {
	dir := t.TempDir()
	c := &component{logPath: filepath.Join(dir, "x.log")}
	long := strings.Repeat("a", 3*componentLogTail) + "THE END"
	if err := os.WriteFile(c.logPath, []byte(long), 0o644); err != nil {
		t.Fatal(err)
	}
	got := c.logTail()
	if len(got) != componentLogTail || !strings.HasSuffix(got, "THE END") {
		t.Errorf("tail of %d bytes ending %q", len(got), got[max(0, len(got)-10):])
	}
}

// TestComponentThatExitsSaysWhy: a component that exits before it is
// healthy makes the wait fail at once, quoting its log.
func TestComponentThatExitsSaysWhy(t *testing.T) {
	dir := t.TempDir()
	c := &component{name: "sh", dir: filepath.Join(dir, "component"), logPath: filepath.Join(dir, "sh.log"), done: make(chan struct{})}
	if err := c.start("/bin/sh", []string{"-c", "echo 'E1206 flag provided but not defined: -bogus'; exit 2"}); err != nil {
		t.Fatal(err)
	}
	defer c.stop()
	port, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	err = c.waitHealthy(ctx, port)
	if err == nil || !strings.Contains(err.Error(), "exited before it was healthy") || !strings.Contains(err.Error(), "-bogus") {
		t.Errorf("waitHealthy = %v, want the exit and the log", err)
	}
}
