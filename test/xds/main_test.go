// Package xds runs inzone-xds's server against a real kube-apiserver
// (controller-runtime envtest) and checks, with real gRPC ADS clients on
// loopback, what an injected sidecar receives.
package xds

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/test/envtest"
	"github.com/inzone-io/inzone/xds/server"
)

func TestMain(m *testing.M) {
	os.Exit(envtest.Main(m, envtest.Options{
		WithoutInzoneWebhook: true,
		// kube-controller-manager's EndpointSlice controller publishes the
		// pods the tests create, bind and make Ready (the tests play the
		// kubelet, so a pod can be made unready and stay so).
		Controllers: []string{"endpointslice"},
	}, nil))
}

// testConfig is the shared config of the package: the defaults (DDSD env
// prod, min_cluster_size 6), with the control plane reached in plaintext,
// as the tests serve ADS on loopback without TLS.
func testConfig() *mutate.Config {
	cfg := mutate.DefaultConfig()
	cfg.Sidecar.ControlPlane.Plaintext = true
	return cfg
}

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
	x := env.StartXDS(t, testConfig())
	return x.Addr, x.Server, x.Registry
}

// metricValue reads the value of a counter or gauge from the registry
// (its first series).
func metricValue(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			m := mf.GetMetric()[0]
			if c := m.GetCounter(); c != nil {
				return c.GetValue()
			}
			return m.GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}
