// Package cli is what inzone's command packages share: the standard
// streams, the exit codes, a command tree's root and how its error becomes
// an exit code, and the binary's version. Each command lives in a package
// of its own (lintcmd, injectcmd, auditcmd, capturecmd, simulatecmd) and the
// mains in cmd/ wire the ones they serve, so that a binary links only what
// its commands use. This package imports cobra and the standard library
// only: every binary links it.
package cli

import (
	"errors"
	"fmt"
	"io"
	"runtime/debug"

	"github.com/spf13/cobra"
)

// Streams are a command's standard streams.
type Streams struct {
	In       io.Reader
	Out, Err io.Writer
}

// Exit codes shared by the commands.
const (
	ExitOK       = 0
	ExitFindings = 1 // lint: findings at or above --fail-on
	ExitUsage    = 2 // usage, parse or config errors
	// ExitInternal is a bug: a panic, reported with its stack. Not 2, so
	// that a crash is never read as "the input does not parse".
	ExitInternal = 3
)

// exitError carries an exit code out of a cobra RunE.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// WithCode makes err exit with code; a nil err exits with code silently.
func WithCode(code int, err error) error { return &exitError{code: code, err: err} }

// NewRoot is the root of a command tree on s holding cmds; errors are
// printed once, by Execute, not by cobra.
func NewRoot(use, short string, s Streams, cmds ...*cobra.Command) *cobra.Command {
	root := &cobra.Command{Use: use, Short: short, SilenceUsage: true, SilenceErrors: true}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	// An explicit list rather than init() self-registration: the tree is
	// read in the main that builds it.
	root.AddCommand(cmds...)
	return root
}

// Execute runs a command tree on args and turns its error into an exit
// code, with the error on stderr after name. A panic is ExitInternal, with
// its stack.
func Execute(root *cobra.Command, args []string, s Streams, name string) (code int) {
	defer func() {
		if r := recover(); r != nil {
			fmt.Fprintf(s.Err, "%s: internal error, a bug in inzone (please report it): %v\n%s", name, r, debug.Stack())
			code = ExitInternal
		}
	}()
	root.SetArgs(args)
	err := root.Execute()
	if err == nil {
		return ExitOK
	}
	var ee *exitError
	if errors.As(err, &ee) {
		if ee.err != nil && ee.err.Error() != "" {
			fmt.Fprintln(s.Err, name+":", ee.err)
		}
		return ee.code
	}
	fmt.Fprintln(s.Err, name+":", err)
	return ExitUsage
}

// Version is the module version the binary was built from.
func Version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" && bi.Main.Version != "(devel)" {
		return bi.Main.Version
	}
	return "dev"
}
