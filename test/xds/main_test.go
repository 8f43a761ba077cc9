// Package xds runs inzone-xds's server against a real kube-apiserver
// (controller-runtime envtest) and checks, with real gRPC ADS clients on
// loopback, what an injected sidecar receives.
package xds

import (
	"context"
	"net"
	"os"
	"testing"
	"time"

	"github.com/go-logr/logr/testr"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"k8s.io/client-go/kubernetes"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/xds/server"
	"github.com/inzone-io/inzone/xds/translate"
)

func TestMain(m *testing.M) {
	os.Exit(envtest.Main(m, envtest.Options{WithoutInzoneWebhook: true}, nil))
}

// testConfig is the shared config of the package: the defaults (DDSD env
// prod, min_cluster_size 6).
func testConfig() *mutate.Config { return mutate.DefaultConfig() }

// waitTimeout bounds every wait for an update; it is a failure deadline,
// not a measured time.
const waitTimeout = 60 * time.Second

func ctx(t testing.TB) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 2*waitTimeout)
	t.Cleanup(cancel)
	return c
}

// startXDS runs inzone-xds's server on the test's API server, ADS on a
// loopback port; it stops at the test's end.
func startXDS(t *testing.T, env *envtest.Env) (addr string, srv *server.Server, reg *prometheus.Registry) {
	t.Helper()
	tr, err := translate.New(testConfig())
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(context.Background())
	reg = prometheus.NewRegistry()
	opts := server.Options{Registry: reg}
	if os.Getenv(envtest.EnvVerbose) == "1" {
		opts.Log = testr.NewWithOptions(t, testr.Options{Verbosity: 4})
	}
	srv = server.New(c, tr, opts)
	cs, err := kubernetes.NewForConfig(env.Config)
	if err != nil {
		t.Fatal(err)
	}
	kube, err := server.NewKube("envtest", cs, srv.Changed)
	if err != nil {
		t.Fatal(err)
	}
	g := grpc.NewServer()
	srv.Register(g)
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{}, 2)
	go func() { _ = g.Serve(lis); done <- struct{}{} }()
	kube.Start(c)
	if !kube.WaitForSync(c) {
		t.Fatal("informers did not sync")
	}
	go func() { _ = srv.Run(c, []server.Reader{kube}); done <- struct{}{} }()
	t.Cleanup(func() {
		cancel()
		g.Stop()
		<-done
		<-done
		kube.Shutdown()
	})
	return lis.Addr().String(), srv, reg
}

// counter reads a counter's value from the registry.
func counter(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetMetric()[0].GetCounter().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
