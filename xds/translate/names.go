package translate

import (
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Names of the resources that are not per service. They cannot collide with
// a callee cluster, whose name always ends in ":<port>", nor with a local
// cluster's endpoints, which are only ever an EDS resource.
const (
	OutboundListener   = "inzone-outbound"
	InboundListener    = "inzone-inbound"
	OutboundRoute      = "inzone-outbound"
	PassthroughCluster = "inzone-passthrough" // ORIGINAL_DST: outbound traffic to anything inzone does not serve
	InboundCluster     = "inzone-inbound"     // ORIGINAL_DST: inbound traffic, to the app in the same pod
	BlackholeCluster   = "inzone-blackhole"   // no endpoints: connections that would loop to the proxy itself
)

// ListenerClusters are the clusters the sidecar listeners and the route
// table's catch-all name, served to every sidecar whatever its scope, in
// name order.
var ListenerClusters = []string{BlackholeCluster, ExplicitProxyCluster, InboundCluster, PassthroughCluster}

// ClusterName is the Envoy cluster (and its EDS resource) of one port of a
// DDSD name: "<name>:<port>". The bare DDSD name is the local cluster, which
// each sidecar's bootstrap declares statically, so a callee cluster must not
// take it; one cluster per port lets a multi-port Service route each port
// to its own endpoints' target ports.
func ClusterName(ddsd string, port int32) string {
	return ddsd + ":" + strconv.Itoa(int(port))
}

// defaultHTTPPort is the port a request without one in its Host means.
const defaultHTTPPort = 80

// validDDSDName reports why a rendered DDSD name cannot be served: it must be
// a DNS name (it is resolved, and used as a Host header and a cluster name).
func validDDSDName(name string) string {
	if msgs := validation.IsDNS1123Subdomain(name); len(msgs) > 0 {
		return "DDSD name " + strconv.Quote(truncate(name, 80)) + " is not a DNS name: " + strings.Join(msgs, "; ")
	}
	return ""
}

// truncate keeps problems short when a name is huge.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
