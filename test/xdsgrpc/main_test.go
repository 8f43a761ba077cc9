// Package xdsgrpc checks that an xDS client the project did not write,
// gRPC's own (google.golang.org/grpc/xds, proxyless gRPC), consumes what
// inzone-xds serves: its server runs in process on loopback, real gRPC
// servers are the endpoints, and real RPCs must reach them.
package xdsgrpc

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// bootstrapEnv names the bootstrap file gRPC's xDS client reads. gRPC reads
// the variable once, when its packages initialize, before TestMain runs;
// the file itself is read when the first xds:/// channel is built, after
// the test knows the server's port. So TestMain runs the tests again in a
// child process with the variable set, and the test writes the file.
const bootstrapEnv = "GRPC_XDS_BOOTSTRAP"

// childEnv marks the child, so it does not start another.
const childEnv = "INZONE_XDSGRPC_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(m.Run())
	}
	os.Exit(runChild())
}

func runChild() int {
	dir, err := os.MkdirTemp("", "inzone-xdsgrpc-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	cmd := exec.Command(os.Args[0], os.Args[1:]...)
	cmd.Env = append(os.Environ(), childEnv+"=1", bootstrapEnv+"="+filepath.Join(dir, "bootstrap.json"))
	cmd.Stdin, cmd.Stdout, cmd.Stderr = nil, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
