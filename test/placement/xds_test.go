package placement

import (
	"context"
	"fmt"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/inzone-io/inzone/simulate"
	"github.com/inzone-io/inzone/test/adsclient"
	"github.com/inzone-io/inzone/xds/translate"
)

// calleeCluster is the EDS cluster inzone-xds serves for port 80 of the
// Service svc: its DDSD name in the config's env. DDSD names leave the
// namespace out, so each run names its callee Service apart.
func calleeCluster(svc string) string {
	return translate.ClusterName(fmt.Sprintf("%s.service.%s.ddsd", svc, testConfig().DDSD.Env), 80)
}

// edsWatch is a delta ADS client of inzone-xds subscribed to one cluster's
// endpoints, as a caller's sidecar is (delta, because a SotW ADS server
// answers EDS only for requests naming every cluster of the snapshot).
type edsWatch struct {
	cluster string
	client  *adsclient.Client
}

// watchEDS subscribes to cluster's endpoints on the ADS server at addr,
// until the test ends.
func watchEDS(t *testing.T, addr, cluster string) *edsWatch {
	t.Helper()
	c, err := adsclient.Dial(context.Background(), adsclient.Options{
		Addr:        addr,
		DialOptions: []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())},
		Protocol:    adsclient.Delta,
		// A node cluster that is no served identity gets the view without
		// a local cluster: the callee clusters only.
		Node:  &corev3.Node{Id: "placement-probe", Cluster: "placement-probe"},
		Names: map[string][]string{resourcev3.EndpointType: {cluster}},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return &edsWatch{cluster: cluster, client: c}
}

// waitHealthy waits until the cluster's served endpoints hold want
// HEALTHY ones, and counts them per zone (the locality Envoy routes by).
func (w *edsWatch) waitHealthy(t *testing.T, want int) simulate.Zones {
	t.Helper()
	var zones simulate.Zones
	w.client.WaitT(t, 90*time.Second, fmt.Sprintf("inzone-xds did not serve %d healthy endpoints of %s", want, w.cluster), func(v adsclient.View) error {
		zones = v.HealthyPerZone(w.cluster)
		total := 0
		for _, n := range zones {
			total += n
		}
		if total != want {
			return fmt.Errorf("%d healthy endpoints %v", total, zones)
		}
		return nil
	})
	return zones
}
