package envoy

import (
	"google.golang.org/protobuf/proto"
	anypb "google.golang.org/protobuf/types/known/anypb"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
)

// Salvage is the part of an invalid config that still parses:
// the clusters each of which is valid on its own, with their paths, as
// Parse's "clusters". Envoy rejects the whole config for one bad field
// (Parse's error says which), but a legacy config with one deprecated
// or unknown field elsewhere should still have its STRICT_DNS clusters
// flagged in the same run, not only after the field is fixed.
//
// The result has no "bootstrap": the rules that read the bootstrap as a
// whole (its local cluster, its zone) would take a part that failed to
// parse for one that is unset. No rule reads listeners, so they are not
// salvaged. A config dump's clusters are the dump's own, and not salvaged
// either: a dump is what a running Envoy accepted, so it is invalid only
// when it is not a dump at all.
func Salvage(doc any, format Format) map[string]any {
	p := &parser{doc: doc, clusters: []any{}, anys: map[*anypb.Any]proto.Message{}}
	switch format {
	case Bootstrap:
		p.salvageBootstrap()
	case Clusters:
		p.salvageClusterList()
	}
	return map[string]any{"format": string(format), "clusters": p.clusters}
}

// salvageBootstrap adds each of static_resources.clusters that parses.
func (p *parser) salvageBootstrap() {
	m, ok := asObject(p.doc)
	if !ok {
		return
	}
	for _, sr := range []string{"static_resources", "staticResources"} {
		res, ok := asObject(m[sr])
		if !ok {
			continue
		}
		list, ok := res["clusters"].([]any)
		if !ok {
			continue
		}
		for i, item := range list {
			path := []any{sr, "clusters", i}
			c := &clusterv3.Cluster{}
			if p.parse(c, item, path) != nil {
				continue
			}
			_ = p.addCluster(c, path)
		}
	}
}

// salvageClusterList adds each resource of a clusters document that parses,
// whether or not the envelope or the other resources do.
func (p *parser) salvageClusterList() {
	switch v := p.doc.(type) {
	case []any:
		for i, it := range v {
			p.salvageResource(it, []any{i})
		}
	case map[string]any, map[any]any:
		m, _ := asObject(v)
		switch r := m["resources"].(type) {
		case nil:
			if _, typed := m["@type"]; typed {
				p.salvageResource(m, nil)
			}
		case []any:
			for i, it := range r {
				p.salvageResource(it, []any{"resources", i})
			}
		default:
			p.salvageResource(r, []any{"resources"})
		}
	}
}

// salvageResource adds the cluster of one resource if it parses, and
// nothing of it otherwise.
func (p *parser) salvageResource(item any, path []any) {
	n := len(p.clusters)
	if p.resource(item, path) != nil {
		p.clusters = p.clusters[:n]
	}
}
