package server

import (
	"context"
	"testing"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
)

// TestDeltaSendsOnlyWhatChanged: over delta ADS on loopback, after one
// endpoint of one Service changes, the client gets that Service's
// endpoints alone, not its local cluster's nor the clusters again.
func TestDeltaSendsOnlyWhatChanged(t *testing.T) {
	s := newTestServer(t)
	r := objects()
	r.src.Services = append(r.src.Services, r.src.Services[0].DeepCopy())
	r.src.Services[1].Name = "users"
	s.build(context.Background(), []Reader{r})

	conn := serve(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).DeltaAggregatedResources(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node := &corev3.Node{Id: "a-1.ns", Cluster: "a.service.prod.ddsd"}
	names := []string{"a.service.prod.ddsd", "orders.service.prod.ddsd:80", "users.service.prod.ddsd:80"}
	if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: resourcev3.EndpointType, ResourceNamesSubscribe: names}); err != nil {
		t.Fatal(err)
	}
	recv := func() *discoveryv3.DeltaDiscoveryResponse {
		t.Helper()
		resp, err := stream.Recv()
		if err != nil {
			t.Fatal(err)
		}
		if err := stream.Send(&discoveryv3.DeltaDiscoveryRequest{Node: node, TypeUrl: resp.TypeUrl, ResponseNonce: resp.Nonce}); err != nil {
			t.Fatal(err)
		}
		return resp
	}
	// "users" has no slice: its endpoints are empty but served.
	if first := recv(); len(first.Resources) != 3 {
		t.Fatalf("first response: %d resources, want 3", len(first.Resources))
	}

	r.src.EndpointSlices[0] = r.src.EndpointSlices[0].DeepCopy()
	r.src.EndpointSlices[0].Endpoints[0].Addresses = []string{"10.0.0.9"}
	s.build(context.Background(), []Reader{r})
	next := recv()
	if len(next.Resources) != 1 || next.Resources[0].Name != "orders.service.prod.ddsd:80" || len(next.RemovedResources) != 0 {
		var got []string
		for _, res := range next.Resources {
			got = append(got, res.Name)
		}
		t.Errorf("after one endpoint changed: resources %v, removed %v; want only orders", got, next.RemovedResources)
	}

	// The Service goes: its name is removed, nothing else is sent.
	r.src.Services = r.src.Services[:1]
	s.build(context.Background(), []Reader{r})
	gone := recv()
	if len(gone.Resources) != 0 || len(gone.RemovedResources) != 1 || gone.RemovedResources[0] != "users.service.prod.ddsd:80" {
		t.Errorf("after users was deleted: %d resources, removed %v", len(gone.Resources), gone.RemovedResources)
	}
}

// serve serves s over loopback gRPC until the test ends, and dials it.
func serve(t *testing.T, s *Server) *grpc.ClientConn {
	t.Helper()
	return dial(t, listen(t, s))
}
