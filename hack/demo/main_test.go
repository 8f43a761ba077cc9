package main

import (
	"bytes"
	"context"
	"maps"
	"slices"
	"testing"
	"time"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/inzone-io/inzone/test/envtest"
)

// TestDemo runs what `make demo` runs, on its own control plane, and checks
// what it shows: the ELB hostname rewritten, inzone-xds (the chart's
// Deployment, over TLS) serving the web pod's sidecar the orders cluster
// zone-aware with its endpoints per zone and the web pod's local cluster,
// and its DNS answering the orders DDSD name with the same addresses.
func TestDemo(t *testing.T) {
	env := envtest.StartT(t, options)
	t.Cleanup(func() {
		if err := envtest.RemoveBuiltBinaries(); err != nil {
			t.Error(err)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	var out bytes.Buffer
	chart, xds, err := install(ctx, &out, env)
	if chart != nil {
		t.Cleanup(func() {
			if err := chart.Stop(); err != nil {
				t.Errorf("stopping the chart's processes: %v", err)
			}
			if err := chart.Uninstall(context.Background()); err != nil {
				t.Errorf("helm uninstall: %v", err)
			}
		})
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, out.String())
	}
	res, err := demo(ctx, &out, env, chart, xds)
	t.Log("\n" + out.String())
	if err != nil {
		t.Fatalf("%v\ninzone-xds's log:\n%s", err, tail(xds.Logs.String(), 4<<10))
	}

	if want := "http://orders.service.prod.ddsd:8080/v1/orders"; res.OrdersURL != want {
		t.Errorf("ORDERS_URL = %q, want %q", res.OrdersURL, want)
	}
	if res.Orders != "orders.service.prod.ddsd:8080" || res.Local != "web.service.prod.ddsd" || res.Zone != "us-east-1a" {
		t.Errorf("orders cluster %q, local cluster %q, zone %q", res.Orders, res.Local, res.Zone)
	}
	c, ok := res.Served.Clusters[res.Orders]
	if !ok {
		t.Fatalf("CDS has no %s: %v", res.Orders, slices.Sorted(maps.Keys(res.Served.Clusters)))
	}
	za := c.GetCommonLbConfig().GetZoneAwareLbConfig()
	if c.GetType() != clusterv3.Cluster_EDS || za.GetRoutingEnabled().GetValue() != 100 || za.GetMinClusterSize().GetValue() != 6 ||
		c.GetCommonLbConfig().GetLocalityWeightedLbConfig() != nil {
		t.Errorf("orders cluster is not EDS, zone-aware 100%% with min_cluster_size 6 and without locality weights: %v", c)
	}
	want := map[string]int{}
	for _, z := range ordersZones {
		want[z]++
	}
	if got := res.Served.HealthyPerZone(res.Orders); !maps.Equal(got, want) {
		t.Errorf("orders endpoints per zone = %v, want %v", got, want)
	}
	if got := res.Served.HealthyPerZone(res.Local); !maps.Equal(got, map[string]int{"us-east-1a": 1}) {
		t.Errorf("local cluster endpoints per zone = %v, want the web pod in us-east-1a", got)
	}
	var eds, dns []string
	for _, l := range res.Served.Endpoints[res.Orders].GetEndpoints() {
		for _, e := range l.LbEndpoints {
			eds = append(eds, e.GetEndpoint().GetAddress().GetSocketAddress().GetAddress())
		}
	}
	for _, a := range res.Records {
		dns = append(dns, a.A.String())
	}
	slices.Sort(eds)
	slices.Sort(dns)
	if len(dns) == 0 || !slices.Equal(eds, dns) {
		t.Errorf("DNS A records %v, want the orders endpoints %v", dns, eds)
	}
}
