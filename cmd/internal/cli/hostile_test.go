package cli

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/spf13/cobra"
)

// TestMain runs the command line instead of the tests when re-executed by
// runBinary, so a test can watch a whole process: its exit code, and
// what ends it.
func TestMain(m *testing.M) {
	if os.Getenv("INZONE_CLI_TEST_MAIN") == "1" {
		os.Exit(Run(os.Args[1:], Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
	}
	os.Exit(m.Run())
}

// runBinary runs `inzone args...` in a process of its own.
func runBinary(t *testing.T, args ...string) (code int, stderr string) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), "INZONE_CLI_TEST_MAIN=1")
	var errb bytes.Buffer
	cmd.Stderr = &errb
	err := cmd.Run()
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		t.Fatal(err)
	}
	return cmd.ProcessState.ExitCode(), errb.String()
}

// TestPanicExitCode: a panic is exit 3 with its stack, never 2, which
// means "the input does not parse".
func TestPanicExitCode(t *testing.T) {
	var errb bytes.Buffer
	s := Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &errb}
	root := newRoot("inzone", "", s)
	root.AddCommand(&cobra.Command{Use: "boom", RunE: func(*cobra.Command, []string) error { panic("boom") }})
	if code := execute(root, []string{"boom"}, s, "inzone"); code != ExitInternal {
		t.Errorf("exit %d, want %d", code, ExitInternal)
	}
	if !strings.Contains(errb.String(), "inzone: internal error, a bug in inzone (please report it): boom") || !strings.Contains(errb.String(), "goroutine") {
		t.Errorf("stderr:\n%s", errb.String())
	}
}

// TestLintMaxMemory: past --max-memory the run stops with an error saying
// so, exit 2, rather than growing until the kernel kills it.
func TestLintMaxMemory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "svc.yaml")
	writeTestFile(t, file, cleanService)
	code, errs := runBinary(t, "lint", "--max-memory", "1Mi", file)
	if code != ExitUsage || !strings.Contains(errs, "inzone lint: stopped: the heap reached") || !strings.Contains(errs, "over --max-memory 1Mi") {
		t.Errorf("exit %d:\n%s", code, errs)
	}
	// The default leaves a normal run alone.
	if code, errs := runBinary(t, "lint", file); code != ExitOK {
		t.Errorf("default limit: exit %d:\n%s", code, errs)
	}
}

// TestLintHostileInputs: special files named on the command line, stdin
// over the size cap and bad limits are errors, exit 2; nothing hangs.
func TestLintHostileInputs(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo.yaml")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Fatal(err)
	}
	big := filepath.Join(dir, "big.yaml")
	writeTestFile(t, big, cleanService+strings.Repeat("# padding\n", 200))
	for _, tc := range []struct {
		name, stdin string
		args        []string
		want        string
	}{
		{"a named pipe", "", []string{fifo}, "not a regular file (a named pipe)"},
		{"a device", "", []string{os.DevNull}, "not a regular file (a character device)"},
		{"over --max-file-size", "", []string{"--max-file-size", "1Ki", big}, "over the 1024-byte limit on one file (--max-file-size)"},
		{"stdin over --max-file-size", strings.Repeat("# x\n", 300), []string{"--max-file-size", "1Ki", "-"}, "stdin: over the 1024-byte limit"},
		{"a bad --max-file-size", "", []string{"--max-file-size", "lots", big}, `--max-file-size "lots"`},
		{"a bad --max-memory", "", []string{"--max-memory", "-1", big}, `--max-memory "-1"`},
		{"a bad --render-timeout", "", []string{"--render-timeout", "0s", big}, "--render-timeout 0s"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, out, errs := runInzone(t, tc.stdin, append([]string{"lint", "-o", "json"}, tc.args...)...)
			if code != ExitUsage || !strings.Contains(errs+out, tc.want) {
				t.Errorf("exit %d:\n%s%s", code, out, errs)
			}
		})
	}
}
