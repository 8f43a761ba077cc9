package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"

	"github.com/inzone-io/inzone/test/adsclient"
)

// printServed writes the clusters with their zone-aware settings, then the
// endpoints per zone of the clusters named in show; local is the local
// cluster (local_cluster_name).
func printServed(w io.Writer, v adsclient.View, show []string, local string) {
	names := slices.Sorted(maps.Keys(v.Clusters))
	fmt.Fprintf(w, "  clusters (CDS):\n")
	for _, n := range names {
		c := v.Clusters[n]
		kind := strings.ToUpper(c.GetType().String())
		if c.GetType() == clusterv3.Cluster_EDS {
			kind += " over ADS"
		}
		za := "zone-aware routing off"
		if z := c.GetCommonLbConfig().GetZoneAwareLbConfig(); z != nil {
			za = fmt.Sprintf("zone-aware routing %.0f%%, min_cluster_size %d", z.GetRoutingEnabled().GetValue(), z.GetMinClusterSize().GetValue())
		}
		locality := ""
		if c.GetCommonLbConfig().GetLocalityWeightedLbConfig() != nil {
			locality = ", locality-weighted (!)"
		}
		fmt.Fprintf(w, "    %-40s %s, %s, %s%s\n", n, kind, c.GetLbPolicy(), za, locality)
	}
	fmt.Fprintf(w, "  endpoints (EDS), per zone:\n")
	for _, n := range show {
		cla, ok := v.Endpoints[n]
		if !ok {
			fmt.Fprintf(w, "    %s: not served\n", n)
			continue
		}
		what := ""
		if n == local {
			what = " (the local cluster: the web pods, for Envoy's zone-aware calculation)"
		}
		fmt.Fprintf(w, "    %s%s\n", n, what)
		for _, l := range cla.GetEndpoints() {
			var eps []string
			for _, e := range l.LbEndpoints {
				sa := e.GetEndpoint().GetAddress().GetSocketAddress()
				eps = append(eps, fmt.Sprintf("%s:%d %s", sa.GetAddress(), sa.GetPortValue(), e.HealthStatus))
			}
			zone := l.GetLocality().GetZone()
			if zone == "" {
				zone = "(no zone)"
			}
			region := l.GetLocality().GetRegion()
			if region != "" {
				region = " (" + region + ")"
			}
			fmt.Fprintf(w, "      %s%s: %s\n", zone, region, strings.Join(eps, ", "))
		}
	}
}
