package lintcmd

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/inzone-io/inzone/cmd/internal/cli"
)

// TestMain runs the command line instead of the tests when re-executed by
// runBinary, so a test can watch a whole process: its exit code, and
// what ends it.
func TestMain(m *testing.M) {
	if os.Getenv("INZONE_CLI_TEST_MAIN") == "1" {
		s := cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}
		os.Exit(cli.Execute(cli.NewRoot("inzone", "", s, NewCommand(s)), os.Args[1:], s, "inzone"))
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

// TestLintMaxMemory: past --max-memory the run stops with an error saying
// so, exit 2, rather than growing until the kernel kills it.
func TestLintMaxMemory(t *testing.T) {
	file := filepath.Join(t.TempDir(), "svc.yaml")
	if err := os.WriteFile(file, []byte(cleanService), 0o644); err != nil {
		t.Fatal(err)
	}
	code, errs := runBinary(t, "lint", "--max-memory", "1Mi", file)
	if code != cli.ExitUsage || !strings.Contains(errs, "inzone lint: stopped: the heap reached") || !strings.Contains(errs, "over --max-memory 1Mi") {
		t.Errorf("exit %d:\n%s", code, errs)
	}
	// The default leaves a normal run alone.
	if code, errs := runBinary(t, "lint", file); code != cli.ExitOK {
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
	if err := os.WriteFile(big, []byte(cleanService+strings.Repeat("# padding\n", 200)), 0o644); err != nil {
		t.Fatal(err)
	}
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
			if code != cli.ExitUsage || !strings.Contains(errs+out, tc.want) {
				t.Errorf("exit %d:\n%s%s", code, out, errs)
			}
		})
	}
}
