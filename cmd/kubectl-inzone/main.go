// Command kubectl-inzone is the kubectl plugin (`kubectl inzone audit` when
// it is on PATH) that audits a live cluster for what sends traffic across
// zones.
package main

import (
	"os"

	"github.com/inzone-io/inzone/cmd/internal/cli"
)

func main() {
	os.Exit(cli.RunPlugin(os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
