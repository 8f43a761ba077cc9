package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
)

// sidecar is who the ADS client says it is: what the web pod's Envoy sends
// (--service-node, --service-cluster, --service-zone) and how it reaches
// the control plane (the bootstrap's xDS cluster: TLS, the chart's CA, the
// Service's name checked).
type sidecar struct {
	node         *corev3.Node
	addr         string // where inzone-xds listens (127.0.0.1 here)
	serverName   string // the name in the bootstrap, which the certificate must carry
	ca           []byte // PEM
	localCluster string
}

// served is what the sidecar received: clusters by name, endpoints by
// cluster name.
type served struct {
	clusters  map[string]*clusterv3.Cluster
	endpoints map[string]*endpointv3.ClusterLoadAssignment
}

// fetch subscribes as an Envoy does at start, over one state-of-the-world
// ADS stream: CDS wildcard, EDS for the local cluster and then for every
// EDS cluster CDS names, ACKing each response. It returns once done says
// the view is complete, or fails when ctx ends.
func (s sidecar) fetch(ctx context.Context, done func(served) bool) (served, error) {
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.ca) {
		return served{}, errors.New("the Secret's ca.crt holds no certificate")
	}
	creds := credentials.NewTLS(&tls.Config{RootCAs: pool, ServerName: s.serverName, MinVersion: tls.VersionTLS12})
	conn, err := grpc.NewClient(s.addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		return served{}, err
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stream, err := discoveryv3.NewAggregatedDiscoveryServiceClient(conn).StreamAggregatedResources(ctx)
	if err != nil {
		return served{}, err
	}
	send := func(typeURL string, names []string, version, nonce string) error {
		return stream.Send(&discoveryv3.DiscoveryRequest{Node: s.node, TypeUrl: typeURL, ResourceNames: names, VersionInfo: version, ResponseNonce: nonce})
	}
	edsNames := []string{s.localCluster}
	if err := send(resourcev3.ClusterType, nil, "", ""); err != nil {
		return served{}, err
	}
	if err := send(resourcev3.EndpointType, edsNames, "", ""); err != nil {
		return served{}, err
	}
	view := served{clusters: map[string]*clusterv3.Cluster{}, endpoints: map[string]*endpointv3.ClusterLoadAssignment{}}
	var edsVersion, edsNonce string
	for {
		resp, err := stream.Recv()
		if err != nil {
			if ctx.Err() != nil {
				return view, fmt.Errorf("inzone-xds did not serve the expected clusters and endpoints: %w", context.Cause(ctx))
			}
			return view, fmt.Errorf("ADS stream: %w", err)
		}
		switch resp.TypeUrl {
		case resourcev3.ClusterType:
			clear(view.clusters)
			names := []string{s.localCluster}
			for _, a := range resp.Resources {
				c := &clusterv3.Cluster{}
				if err := a.UnmarshalTo(c); err != nil {
					return view, err
				}
				view.clusters[c.Name] = c
				if c.GetType() == clusterv3.Cluster_EDS {
					names = append(names, edsServiceName(c))
				}
			}
			if err := send(resp.TypeUrl, nil, resp.VersionInfo, resp.Nonce); err != nil {
				return view, err
			}
			slices.Sort(names)
			if names = slices.Compact(names); !slices.Equal(names, edsNames) {
				edsNames = names
				if err := send(resourcev3.EndpointType, edsNames, edsVersion, edsNonce); err != nil {
					return view, err
				}
			}
		case resourcev3.EndpointType:
			// A state-of-the-world EDS response may hold only the
			// resources that changed or were newly asked for: the xDS
			// protocol lets a server leave out the rest, which Envoy keeps.
			for name := range view.endpoints {
				if !slices.Contains(edsNames, name) {
					delete(view.endpoints, name)
				}
			}
			for _, a := range resp.Resources {
				e := &endpointv3.ClusterLoadAssignment{}
				if err := a.UnmarshalTo(e); err != nil {
					return view, err
				}
				view.endpoints[e.ClusterName] = e
			}
			edsVersion, edsNonce = resp.VersionInfo, resp.Nonce
			if err := send(resp.TypeUrl, edsNames, edsVersion, edsNonce); err != nil {
				return view, err
			}
		}
		if len(view.clusters) > 0 && done(view) {
			return view, nil
		}
	}
}

// edsServiceName is the EDS resource an EDS cluster reads.
func edsServiceName(c *clusterv3.Cluster) string {
	if n := c.GetEdsClusterConfig().GetServiceName(); n != "" {
		return n
	}
	return c.Name
}

// healthyPerZone counts the HEALTHY endpoints of a load assignment by zone.
func healthyPerZone(cla *endpointv3.ClusterLoadAssignment) map[string]int {
	out := map[string]int{}
	for _, l := range cla.GetEndpoints() {
		for _, e := range l.LbEndpoints {
			if e.HealthStatus == corev3.HealthStatus_HEALTHY {
				out[l.GetLocality().GetZone()]++
			}
		}
	}
	return out
}

// printServed writes the clusters with their zone-aware settings, then the
// endpoints per zone of the clusters named in show; local is the local
// cluster (local_cluster_name).
func printServed(w io.Writer, v served, show []string, local string) {
	names := make([]string, 0, len(v.clusters))
	for n := range v.clusters {
		names = append(names, n)
	}
	slices.Sort(names)
	fmt.Fprintf(w, "  clusters (CDS):\n")
	for _, n := range names {
		c := v.clusters[n]
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
		cla, ok := v.endpoints[n]
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
