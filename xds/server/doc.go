// Package server serves what package translate computes to the injected
// sidecars over ADS (gRPC, state-of-the-world and delta), with
// go-control-plane's server and its LinearCache, one per resource type
// behind a MuxCache: the protocol is the library's, not inzone's. It
// coalesces bursts of Kubernetes changes into one build, versions each
// resource by a hash of its content, updates only what changed, in an
// order that keeps every proxy's view consistent, and keeps nothing per
// proxy. Clusters and route tables have a view of their own for each
// identity that declares its callees (scoped.go), a LinearCache per
// identity rather than per proxy. Each stream is admitted and watched by
// a thin wrapper (ads.go): the limits on what one client can take
// (limits.go) and the shared budget of bytes sent and not acknowledged
// (budget.go). kube.go is the thin layer that reads a Kubernetes cluster
// through client-go informers.
package server
