// Package serverflag parses the command line of inzone's servers
// (inzone-webhook, inzone-xds): Go flags plus controller-runtime's logging
// flags, and nothing else. Only the servers import it: it links
// controller-runtime's zap.
package serverflag

import (
	"flag"
	"fmt"

	"sigs.k8s.io/controller-runtime/pkg/log/zap"
)

// Parse binds the logging flags (--zap-log-level and the rest) to fs and
// parses args, which must be flags only. When they are not, it says why
// on fs's output and returns false: the server exits 2, serving nothing.
func Parse(fs *flag.FlagSet, args []string) (zap.Options, bool) {
	var logging zap.Options
	logging.BindFlags(fs)
	if err := fs.Parse(args); err != nil {
		return logging, false // fs has printed the error
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "unexpected arguments: %q\n", fs.Args())
		return logging, false
	}
	return logging, true
}
