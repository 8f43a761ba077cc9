// Package server serves what package translate computes to the injected
// sidecars over ADS (gRPC, state-of-the-world and delta), with
// go-control-plane's server and snapshot cache: the protocol is the
// library's, not inzone's. It coalesces bursts of Kubernetes changes into
// one snapshot, versions each resource type by a hash of its content, and
// keys every proxy to one shared snapshot. kube.go is the thin layer that
// reads a Kubernetes cluster through client-go informers.
package server
