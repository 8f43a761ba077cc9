// Package cli holds inzone's cobra commands. Each command is an Options
// struct bound to its flags with Complete, Validate and Run steps; the mains
// in cmd/ only build streams and exit with Run's code.
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

// withCode makes err exit with code.
func withCode(code int, err error) error { return &exitError{code: code, err: err} }

// newRoot is the root of a command tree on s; errors are printed once, by
// execute, not by cobra.
func newRoot(use, short string, s Streams) *cobra.Command {
	root := &cobra.Command{Use: use, Short: short, SilenceUsage: true, SilenceErrors: true}
	root.SetIn(s.In)
	root.SetOut(s.Out)
	root.SetErr(s.Err)
	return root
}

// NewRootCommand builds the inzone command tree.
func NewRootCommand(s Streams) *cobra.Command {
	root := newRoot("inzone", "Keep service-mesh traffic inside its availability zone", s)
	// An explicit list rather than init() self-registration: the tree is
	// read here.
	root.AddCommand(newLintCommand(s), newInjectCommand(s), newSimulateCommand(s), newCaptureCommand(s))
	return root
}

// Run executes the command line and returns the process exit code.
func Run(args []string, s Streams) int { return execute(NewRootCommand(s), args, s, "inzone") }

// execute runs a command tree and turns its error into an exit code, with
// the error on stderr after name.
func execute(root *cobra.Command, args []string, s Streams, name string) (code int) {
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
