// Command kubectl-inzone is the kubectl plugin (`kubectl inzone audit` when
// it is on PATH) that audits a live cluster for what sends traffic across
// zones. It wires the audit command only, and links nothing else.
package main

import (
	"os"

	"github.com/spf13/cobra"

	"github.com/inzone-io/inzone/cmd/internal/auditcmd"
	"github.com/inzone-io/inzone/cmd/internal/cli"
)

func main() {
	os.Exit(run(os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}

// run executes the plugin's command line and returns the exit code.
func run(args []string, s cli.Streams) int {
	root := cli.NewRoot("kubectl-inzone", "Audit a live cluster for what sends traffic across zones", s, auditcmd.NewCommand(s))
	root.Annotations = map[string]string{cobra.CommandDisplayNameAnnotation: "kubectl inzone"}
	return cli.Execute(root, args, s, "kubectl inzone")
}
