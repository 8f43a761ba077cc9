package placement

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/inzone-io/inzone/simulate"
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
// answers EDS only for requests naming every cluster of the snapshot). It
// keeps the last ClusterLoadAssignment received and ACKs each response.
type edsWatch struct {
	cluster string
	mu      sync.Mutex
	cla     *endpointv3.ClusterLoadAssignment
	err     error
	updates chan struct{}
}

// watchEDS subscribes to cluster's endpoints on the ADS server at addr,
// until the test ends.
func watchEDS(t *testing.T, addr, cluster string) *edsWatch {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	c, cancel := context.WithCancel(context.Background())
	t.Cleanup(func() { cancel(); conn.Close() })
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(c)
	if err != nil {
		t.Fatal(err)
	}
	// A node cluster that is no served identity gets the view without a
	// local cluster: the callee clusters only.
	node := &corev3.Node{Id: "placement-probe", Cluster: "placement-probe"}
	if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: resourcev3.EndpointType, ResourceNamesSubscribe: []string{cluster}}); err != nil {
		t.Fatal(err)
	}
	w := &edsWatch{cluster: cluster, updates: make(chan struct{}, 1)}
	go func() {
		for {
			resp, err := stream.Recv()
			if err == nil {
				err = w.apply(resp)
			}
			if err == nil {
				err = stream.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: resp.GetTypeUrl(), ResponseNonce: resp.GetNonce()})
			}
			if err != nil {
				w.set(nil, err)
				return
			}
		}
	}()
	return w
}

// apply keeps the watched cluster's endpoints from one response.
func (w *edsWatch) apply(resp *discoveryv3.DeltaDiscoveryResponse) error {
	for _, r := range resp.GetResources() {
		if r.GetName() != w.cluster {
			continue
		}
		cla := &endpointv3.ClusterLoadAssignment{}
		if err := r.GetResource().UnmarshalTo(cla); err != nil {
			return fmt.Errorf("EDS %s: %w", r.GetName(), err)
		}
		w.set(cla, nil)
	}
	for _, name := range resp.GetRemovedResources() {
		if name == w.cluster {
			w.set(nil, nil)
		}
	}
	return nil
}

func (w *edsWatch) set(cla *endpointv3.ClusterLoadAssignment, err error) {
	w.mu.Lock()
	if err != nil {
		w.err = err
	} else {
		w.cla = cla
	}
	w.mu.Unlock()
	select {
	case w.updates <- struct{}{}:
	default:
	}
}

// waitHealthy waits until the cluster's served endpoints hold want
// HEALTHY ones, and counts them per zone (the locality Envoy routes by).
func (w *edsWatch) waitHealthy(t *testing.T, want int) simulate.Zones {
	t.Helper()
	deadline := time.After(90 * time.Second)
	last := "nothing received"
	for {
		w.mu.Lock()
		cla, err := w.cla, w.err
		w.mu.Unlock()
		if err != nil {
			t.Fatalf("ADS stream for %s: %v", w.cluster, err)
		}
		if cla != nil {
			zones, total := simulate.Zones{}, 0
			for _, l := range cla.GetEndpoints() {
				for _, e := range l.GetLbEndpoints() {
					if e.GetHealthStatus() == corev3.HealthStatus_HEALTHY {
						zones[l.GetLocality().GetZone()]++
						total++
					}
				}
			}
			if total == want {
				return zones
			}
			last = fmt.Sprintf("%d healthy endpoints %v", total, zones)
		}
		select {
		case <-w.updates:
		case <-deadline:
			t.Fatalf("inzone-xds did not serve %d healthy endpoints of %s; last: %s", want, w.cluster, last)
		}
	}
}
