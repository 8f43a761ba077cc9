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
// closes at the test's end, which fails if it ever held an inconsistent
// view. protocol is "sotw" or "delta".
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
	// Runs before Close: every view the client held, to the test's end.
	t.Cleanup(func() {
		if err := c.Consistency(); err != nil {
			t.Errorf("at the test's end: %v", err)
		}
	})
	return c
}

// consistent fails the test at once if the client ever held a view
// Envoy would not hold consistently (adsclient's package doc), naming the
// first: each update must arrive whole, not only the view a wait returns.
func consistent(t testing.TB, c *adsclient.Client, what string) {
	t.Helper()
	if err := c.Consistency(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}
