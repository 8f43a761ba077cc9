// Package translate turns Kubernetes objects (Services, EndpointSlices,
// Pods, Nodes) and inzone's shared config into the Envoy resources inzone-xds
// serves the injected sidecars: callee EDS clusters with zone-aware load
// balancing, their endpoints grouped by zone, each identity's local cluster,
// and the outbound and inbound listeners with their route table; and, for
// each identity whose pods declare their callees (inzone.io/calls), the
// subset of clusters and virtual hosts its sidecars are sent (scopes.go).
// Within one Kubernetes cluster a DDSD name has one owner, so that no
// tenant can add its objects to another's name (owners.go), and each
// Service's share of every sidecar is bounded (caps.go).
//
// It does no I/O and holds no client: the server package feeds it what its
// informers hold and serves the result. Names come from the webhook's own
// code (mutate.Engine), so the local_cluster_name the webhook writes into a
// sidecar's bootstrap is always a resource this package produces.
package translate
