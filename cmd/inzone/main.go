// Command inzone lints manifests and Envoy configs for what defeats zone
// locality (inzone lint) and applies the webhook's mutations offline
// (inzone inject).
package main

import (
	"os"

	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/cmd/internal/startup"
)

func main() {
	startup.Done()
	os.Exit(cli.Run(os.Args[1:], cli.Streams{In: os.Stdin, Out: os.Stdout, Err: os.Stderr}))
}
