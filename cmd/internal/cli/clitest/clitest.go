// Package clitest runs one of inzone's commands as its binary would, for
// the command packages' tests.
package clitest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/inzone-io/inzone/cmd/internal/cli"
)

// Run runs `inzone args...` in a tree that holds only the command newCmd
// builds, with stdin as standard input, and returns the exit code and
// what was written to stdout and stderr.
func Run(t testing.TB, newCmd func(cli.Streams) *cobra.Command, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errb bytes.Buffer
	s := cli.Streams{In: strings.NewReader(stdin), Out: &out, Err: &errb}
	code = cli.Execute(cli.NewRoot("inzone", "", s, newCmd(s)), args, s, "inzone")
	return code, out.String(), errb.String()
}
