package envtest

import (
	"context"
	"net"
	"os"
	"testing"

	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"k8s.io/client-go/kubernetes"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/xds/server"
	"github.com/inzone-io/inzone/xds/translate"
)

// XDS is inzone-xds's server run in the test process by StartXDS.
type XDS struct {
	// Addr is ADS's loopback address, plaintext.
	Addr string
	// Server is the running server.
	Server *server.Server
	// Registry holds its metrics.
	Registry *prometheus.Registry
}

// StartXDS runs inzone-xds's server (package xds/server) with cfg on the
// Env's API server, its informers synced before it returns and ADS on a
// loopback port; everything stops at the test's end.
func (e *Env) StartXDS(t testing.TB, cfg *mutate.Config) *XDS {
	t.Helper()
	tr, err := translate.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(context.Background())
	reg := prometheus.NewRegistry()
	opts := server.Options{Registry: reg}
	if os.Getenv(EnvVerbose) == "1" {
		opts.Log = testr.NewWithInterface(t, testr.Options{Verbosity: 4})
	}
	srv := server.New(c, tr, opts)
	cs, err := kubernetes.NewForConfig(e.Config)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	kube, err := server.NewKube("envtest", true, cs, srv.Changed)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	g := grpc.NewServer()
	srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { _ = g.Serve(lis); done <- struct{}{} }()
	kube.Start(c)
	stop := func(running int) {
		cancel()
		g.Stop()
		for range running {
			<-done
		}
		kube.Shutdown()
	}
	if !kube.WaitForSync(c) {
		stop(1)
		t.Fatal("inzone-xds: informers did not sync")
	}
	go func() { _ = srv.Run(c, []server.Reader{kube}); done <- struct{}{} }()
	t.Cleanup(func() { stop(2) })
	return &XDS{Addr: lis.Addr().String(), Server: srv, Registry: reg}
}
