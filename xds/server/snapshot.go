package server

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
	"google.golang.org/protobuf/proto"

	"github.com/inzone-io/inzone/xds/translate"
)

// snapshotOf packs a translation into one consistent snapshot. Each type's
// version is a hash of its resources, so the same state always has the
// same versions (across restarts and replicas), and a type whose content did
// not change keeps its version: state-of-the-world clients are not sent it
// again.
func snapshotOf(out *translate.Output) (*cachev3.Snapshot, error) {
	snap := &cachev3.Snapshot{}
	add := func(t types.ResponseType, items []types.Resource) error {
		v, err := contentVersion(items)
		if err != nil {
			return err
		}
		snap.Resources[t] = cachev3.NewResources(v, items)
		return nil
	}
	lists := []struct {
		t     types.ResponseType
		items []types.Resource
	}{
		{types.Cluster, resources(out.Clusters)},
		{types.Endpoint, resources(out.Endpoints)},
		{types.Listener, resources(out.Listeners)},
		{types.Route, resources(out.Routes)},
	}
	for _, l := range lists {
		if err := add(l.t, l.items); err != nil {
			return nil, err
		}
	}
	return snap, nil
}

func resources[T types.Resource](in []T) []types.Resource {
	out := make([]types.Resource, len(in))
	for i, r := range in {
		out[i] = r
	}
	return out
}

// contentVersion hashes the deterministic encoding of resources listed in a
// fixed (sorted) order.
func contentVersion(items []types.Resource) (string, error) {
	h := sha256.New()
	opts := proto.MarshalOptions{Deterministic: true}
	var buf []byte
	for _, r := range items {
		var err error
		buf, err = opts.MarshalAppend(buf[:0], r)
		if err != nil {
			return "", err
		}
		var n [8]byte
		for i, l := 0, len(buf); i < 8; i, l = i+1, l>>8 {
			n[i] = byte(l)
		}
		h.Write(n[:]) // length-prefixed, so boundaries count
		h.Write(buf)
	}
	return hex.EncodeToString(h.Sum(nil)[:12]), nil
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
