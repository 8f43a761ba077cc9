package server

import (
	"crypto/sha256"
	"encoding/hex"
	"maps"

	endpointv3 "github.com/envoyproxy/go-control-plane/envoy/config/endpoint/v3"
	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	resourcev3 "github.com/envoyproxy/go-control-plane/pkg/resource/v3"

	"github.com/inzone-io/inzone/xds/translate"
)

// view is what every proxy shares in one translation: clusters, listeners,
// routes and the callee clusters' endpoints, each type with its version and
// each resource with its own (for delta clients). A proxy's snapshot adds
// only its local cluster's endpoints.
//
// Why one snapshot per identity and not one for all: over state-of-the-world
// ADS, go-control-plane's cache answers an EDS request only when it names
// every endpoint resource of the snapshot (so that nothing is sent half).
// A sidecar asks for its own local cluster, never another identity's, so
// the snapshot of its node key must hold exactly one local cluster. The
// shared parts are the same maps in every snapshot, never copied per proxy.
type view struct {
	types    [types.UnknownType]cachev3.Resources
	versions map[string]map[string]string // type URL -> name -> resource version
}

func newView(out *translate.Output) (*view, error) {
	v := &view{versions: map[string]map[string]string{}}
	lists := []struct {
		t     types.ResponseType
		url   string
		items []types.Resource
	}{
		{types.Cluster, resourcev3.ClusterType, resources(out.Clusters)},
		{types.Endpoint, resourcev3.EndpointType, resources(out.Endpoints)},
		{types.Listener, resourcev3.ListenerType, resources(out.Listeners)},
		{types.Route, resourcev3.RouteType, resources(out.Routes)},
	}
	for _, l := range lists {
		versions, err := resourceVersions(l.items)
		if err != nil {
			return nil, err
		}
		v.versions[l.url] = versions
		v.types[l.t] = cachev3.NewResources(typeVersion(l.items, versions), l.items)
	}
	return v, nil
}

// snapshotFor is the snapshot of one identity: the shared view plus its
// local cluster's endpoints (nil for a proxy whose identity has none).
func (v *view) snapshotFor(local *endpointv3.ClusterLoadAssignment) (*cachev3.Snapshot, error) {
	snap := &cachev3.Snapshot{Resources: v.types, VersionMap: maps.Clone(v.versions)}
	if local == nil {
		return snap, nil
	}
	h, err := resourceVersion(local)
	if err != nil {
		return nil, err
	}
	eds := v.types[types.Endpoint]
	items := make(map[string]types.ResourceWithTTL, len(eds.Items)+1)
	maps.Copy(items, eds.Items)
	items[local.ClusterName] = types.ResourceWithTTL{Resource: local}
	snap.Resources[types.Endpoint] = cachev3.Resources{Version: combine(eds.Version, local.ClusterName, h), Items: items}
	versions := make(map[string]string, len(items))
	maps.Copy(versions, v.versions[resourcev3.EndpointType])
	versions[local.ClusterName] = h
	snap.VersionMap[resourcev3.EndpointType] = versions
	return snap, nil
}

func resources[T types.Resource](in []T) []types.Resource {
	out := make([]types.Resource, len(in))
	for i, r := range in {
		out[i] = r
	}
	return out
}

// resourceVersion is go-control-plane's own per-resource hash (what its
// cache would compute for delta clients), computed once per translation
// instead of once per snapshot.
func resourceVersion(r types.Resource) (string, error) {
	b, err := cachev3.MarshalResource(r)
	if err != nil {
		return "", err
	}
	return cachev3.HashResource(b), nil
}

func resourceVersions(items []types.Resource) (map[string]string, error) {
	out := make(map[string]string, len(items))
	for _, r := range items {
		v, err := resourceVersion(r)
		if err != nil {
			return nil, err
		}
		out[cachev3.GetResourceName(r)] = v
	}
	return out, nil
}

// typeVersion hashes a type's resources, in their (sorted) order: the same
// content always has the same version, across restarts and replicas.
func typeVersion(items []types.Resource, versions map[string]string) string {
	parts := make([]string, 0, 2*len(items))
	for _, r := range items {
		name := cachev3.GetResourceName(r)
		parts = append(parts, name, versions[name])
	}
	return combine(parts...)
}

func combine(parts ...string) string {
	h := sha256.New()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil)[:12])
}

// sameVersions reports whether two snapshots have the same version of
// every type: nothing to push.
func sameVersions(a, b *cachev3.Snapshot) bool {
	if a == nil || b == nil {
		return false
	}
	for i := range a.Resources {
		if a.Resources[i].Version != b.Resources[i].Version {
			return false
		}
	}
	return true
}
