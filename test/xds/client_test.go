package xds

import (
	"context"
	"testing"

	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/inzone-io/inzone/test/adsclient"
)

// dial connects a client that subscribes as an injected Envoy does: CDS
// and LDS wildcard, EDS for its local cluster (the bootstrap's static
// cluster) plus every EDS cluster CDS names, RDS for what LDS names. It
// closes at the test's end. protocol is "sotw" or "delta".
func dial(t *testing.T, addr, protocol, nodeID, localCluster, zone string) *adsclient.Client {
	t.Helper()
	c, err := adsclient.Dial(context.Background(), adsclient.Options{
		Addr:         addr,
		DialOptions:  []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())},
		Protocol:     adsclient.Protocol(protocol),
		Node:         adsclient.SidecarNode(nodeID, localCluster, zone),
		LocalCluster: localCluster,
		Wildcard:     []string{resourcev3.ClusterType, resourcev3.ListenerType},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}
