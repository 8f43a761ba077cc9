package cli

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

// TestPanicExitCode: a panic is exit 3 with its stack, never 2, which
// means "the input does not parse".
func TestPanicExitCode(t *testing.T) {
	var errb bytes.Buffer
	s := Streams{In: strings.NewReader(""), Out: &bytes.Buffer{}, Err: &errb}
	root := NewRoot("inzone", "", s, &cobra.Command{Use: "boom", RunE: func(*cobra.Command, []string) error { panic("boom") }})
	if code := Execute(root, []string{"boom"}, s, "inzone"); code != ExitInternal {
		t.Errorf("exit %d, want %d", code, ExitInternal)
	}
	if !strings.Contains(errb.String(), "inzone: internal error, a bug in inzone (please report it): boom") || !strings.Contains(errb.String(), "goroutine") {
		t.Errorf("stderr:\n%s", errb.String())
	}
}
