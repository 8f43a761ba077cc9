package envoy

import (
	"errors"
	"fmt"
	"slices"
	"strings"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
)

// Parse parses doc, a decoded YAML/JSON document of the given format,
// with Envoy's own API types, the way Envoy's loader does: enum names in any
// case, snake_case or lowerCamelCase keys, a single value in place of a
// list, every "@type" resolved, unknown fields rejected, and the
// protoc-gen-validate rules checked (inside typed configs too). A config
// Envoy would reject is a *ParseError.
//
// The result is the Rego input of an Envoy config (see the package doc)
// without "apiVersion", "kind" and "metadata", which Input adds:
// "format", "bootstrap" (bootstrap and config dump) and "clusters", each
// {"path": <path of the cluster in doc>, "cluster": <Cluster as protojson
// with proto field names>}.
func Parse(doc any, format Format) (map[string]any, error) {
	return parseDoc(doc, format, false)
}

// parseDoc is Parse; viaJSON reads and renders every message through
// protojson (the normalizer's JSON in, protojson's JSON out) rather than
// straight from and to the decoded values. Parse's result must not
// depend on it, which the tests check.
func parseDoc(doc any, format Format, viaJSON bool) (map[string]any, error) {
	p := &parser{doc: doc, clusters: []any{}, anys: map[*anypb.Any]proto.Message{}, viaJSON: viaJSON}
	var err error
	switch format {
	case Bootstrap:
		err = p.bootstrap()
	case Clusters:
		err = p.clusterList()
	case ConfigDump:
		err = p.configDump()
	default:
		return nil, fmt.Errorf("unknown Envoy config format %q", format)
	}
	if err != nil {
		return nil, err
	}
	out := map[string]any{"format": string(format), "clusters": p.clusters}
	if p.bootstrapOut != nil {
		out["bootstrap"] = p.bootstrapOut
	}
	return out, nil
}

// parser parses one document.
type parser struct {
	doc          any
	clusters     []any
	bootstrapOut map[string]any
	// anys holds the messages unpacked from the document's Anys, which the
	// validation, the parser and the rendering all read.
	anys    map[*anypb.Any]proto.Message
	viaJSON bool
}

// unpack is unpackAny(a), once per Any.
func (p *parser) unpack(a *anypb.Any) (proto.Message, error) {
	if msg, ok := p.anys[a]; ok {
		return msg, nil
	}
	msg, err := unpackAny(a)
	if err == nil {
		p.anys[a] = msg
	}
	return msg, err
}

func (p *parser) bootstrap() error {
	if _, ok := asObject(p.doc); !ok {
		return &ParseError{Reason: "a bootstrap must be an object, not " + describe(p.doc)}
	}
	b := &bootstrapv3.Bootstrap{}
	if err := p.parse(b, p.doc, nil); err != nil {
		return err
	}
	out, err := p.render(b)
	if err != nil {
		return err
	}
	p.bootstrapOut = out
	// Reuse the rendered clusters: they are the bootstrap's, in order.
	sr, _ := out["static_resources"].(map[string]any)
	rendered, _ := sr["clusters"].([]any)
	for i := range b.GetStaticResources().GetClusters() {
		if i >= len(rendered) {
			break
		}
		path := docPath(p.doc, nil, []pathSeg{fieldSeg("static_resources", "staticResources"), fieldSeg("clusters", "clusters"), indexSeg(i)})
		p.clusters = append(p.clusters, map[string]any{"path": path, "cluster": rendered[i]})
	}
	return nil
}

func (p *parser) clusterList() error {
	switch v := p.doc.(type) {
	case []any:
		for i, it := range v {
			if err := p.resource(it, []any{i}); err != nil {
				return err
			}
		}
		return nil
	case map[string]any, map[any]any:
		m, _ := asObject(v)
		res, ok := m["resources"]
		if !ok {
			if _, typed := m["@type"]; typed {
				return p.resource(m, nil)
			}
			return &ParseError{Reason: `expected a list of clusters, a "resources" list or a typed resource`}
		}
		// The envelope: a DiscoveryResponse without its resources, which
		// may be plain clusters rather than Anys.
		env := make(map[string]any, len(m))
		for k, x := range m {
			if k != "resources" {
				env[k] = x
			}
		}
		if err := p.parse(&discoveryv3.DiscoveryResponse{}, env, nil); err != nil {
			return err
		}
		switch r := res.(type) {
		case nil:
			return nil
		case []any:
			for i, it := range r {
				if err := p.resource(it, []any{"resources", i}); err != nil {
					return err
				}
			}
			return nil
		default: // a single resource in place of the list
			return p.resource(r, []any{"resources"})
		}
	}
	return &ParseError{Reason: "expected a list of clusters or an object, not " + describe(p.doc)}
}

// resource parses one resource of a clusters document at path.
func (p *parser) resource(item any, path []any) error {
	m, ok := asObject(item)
	if !ok {
		return &ParseError{Path: path, Reason: "a resource must be an object, not " + describe(item)}
	}
	if _, typed := m["@type"]; typed {
		a := &anypb.Any{}
		if err := p.parse(a, item, path); err != nil {
			return err
		}
		return p.typedResource(a, path)
	}
	if tu, val, ok := binaryAny(m); ok {
		a := &anypb.Any{TypeUrl: tu}
		raw, ok := decodeBase64(val)
		if !ok {
			return &ParseError{Path: appendPath(path, "value"), Reason: "value of a binary Any is not base64 (standard or URL-safe alphabet, padded or not)"}
		}
		a.Value = raw
		msg, err := p.unpack(a)
		if err != nil {
			return &ParseError{Path: appendPath(path, "value"), Reason: err.Error()}
		}
		if err := p.validate(msg, item, path); err != nil {
			return err
		}
		return p.typedResource(a, path)
	}
	if _, wrapped := m["cluster"]; wrapped && knownFields(dynamicClusterDesc, m) == len(m) {
		dc := &adminv3.ClustersConfigDump_DynamicCluster{}
		if err := p.parse(dc, item, path); err != nil {
			return err
		}
		return p.addClusterAny(dc.GetCluster(), docPath(p.doc, path, []pathSeg{fieldSeg("cluster", "cluster")}))
	}
	c := &clusterv3.Cluster{}
	if err := p.parse(c, item, path); err != nil {
		return err
	}
	return p.addCluster(c, slices.Clone(path))
}

// typedResource records the cluster in a, a resource at path: a Cluster, or
// a discovery Resource wrapping one. Other types yield nothing.
func (p *parser) typedResource(a *anypb.Any, path []any) error {
	msg, err := p.unpack(a)
	if err != nil {
		return &ParseError{Path: path, Reason: err.Error()}
	}
	if c, ok := upgrade[*clusterv3.Cluster](msg); ok {
		return p.addCluster(c, slices.Clone(path))
	}
	if r, ok := upgrade[*discoveryv3.Resource](msg); ok {
		return p.addClusterAny(r.GetResource(), docPath(p.doc, path, []pathSeg{fieldSeg("resource", "resource")}))
	}
	return nil
}

// binaryAny recognizes an Any as Go's encoding/json writes it: type_url and
// base64 value.
func binaryAny(m map[string]any) (typeURL, value string, ok bool) {
	tu, _ := m["type_url"].(string)
	if tu == "" {
		tu, _ = m["typeUrl"].(string)
	}
	value, ok = m["value"].(string)
	if tu == "" || !ok {
		return "", "", false
	}
	for k := range m {
		if k != "type_url" && k != "typeUrl" && k != "value" {
			return "", "", false
		}
	}
	return tu, value, true
}

func (p *parser) configDump() error {
	if _, ok := asObject(p.doc); !ok {
		return &ParseError{Reason: "a config dump must be an object, not " + describe(p.doc)}
	}
	d := &adminv3.ConfigDump{}
	if err := p.parse(d, p.doc, nil); err != nil {
		return err
	}
	var fromBootstrap []*clusterv3.Cluster
	var bootstrapIndex int
	sawClusters := false
	for k, c := range d.GetConfigs() {
		msg, err := p.unpack(c)
		if err != nil {
			return &ParseError{Path: []any{"configs", k}, Reason: err.Error()}
		}
		if up, ok := upgrade[*adminv3.BootstrapConfigDump](msg); ok {
			msg = up
		} else if up, ok := upgrade[*adminv3.ClustersConfigDump](msg); ok {
			msg = up
		}
		switch dump := msg.(type) {
		case *adminv3.BootstrapConfigDump:
			if p.bootstrapOut != nil {
				continue
			}
			out, err := p.render(dump.GetBootstrap())
			if err != nil {
				return err
			}
			p.bootstrapOut = out
			fromBootstrap, bootstrapIndex = dump.GetBootstrap().GetStaticResources().GetClusters(), k
		case *adminv3.ClustersConfigDump:
			sawClusters = true
			base := []pathSeg{fieldSeg("configs", "configs"), indexSeg(k)}
			for i, sc := range dump.GetStaticClusters() {
				path := docPath(p.doc, nil, append(slices.Clone(base), fieldSeg("static_clusters", "staticClusters"), indexSeg(i), fieldSeg("cluster", "cluster")))
				if err := p.addClusterAny(sc.GetCluster(), path); err != nil {
					return err
				}
			}
			for _, list := range []struct {
				name, json string
				items      []*adminv3.ClustersConfigDump_DynamicCluster
			}{
				{"dynamic_active_clusters", "dynamicActiveClusters", dump.GetDynamicActiveClusters()},
				{"dynamic_warming_clusters", "dynamicWarmingClusters", dump.GetDynamicWarmingClusters()},
			} {
				for i, dc := range list.items {
					path := docPath(p.doc, nil, append(slices.Clone(base), fieldSeg(list.name, list.json), indexSeg(i), fieldSeg("cluster", "cluster")))
					if err := p.addClusterAny(dc.GetCluster(), path); err != nil {
						return err
					}
				}
			}
		}
	}
	// Static clusters are in both the bootstrap and the clusters dump; take
	// the bootstrap's only when the dump has no clusters part.
	if !sawClusters {
		for i, c := range fromBootstrap {
			path := docPath(p.doc, nil, []pathSeg{
				fieldSeg("configs", "configs"), indexSeg(bootstrapIndex), fieldSeg("bootstrap", "bootstrap"),
				fieldSeg("static_resources", "staticResources"), fieldSeg("clusters", "clusters"), indexSeg(i),
			})
			if err := p.addCluster(c, path); err != nil {
				return err
			}
		}
	}
	return nil
}

// addClusterAny records the cluster inside a, if a holds one.
func (p *parser) addClusterAny(a *anypb.Any, path []any) error {
	if a == nil || a.GetTypeUrl() == "" {
		return nil
	}
	msg, err := p.unpack(a)
	if err != nil {
		return &ParseError{Path: path, Reason: err.Error()}
	}
	if c, ok := upgrade[*clusterv3.Cluster](msg); ok {
		return p.addCluster(c, path)
	}
	return nil
}

func (p *parser) addCluster(c *clusterv3.Cluster, path []any) error {
	out, err := p.render(c)
	if err != nil {
		return err
	}
	if path == nil {
		path = []any{}
	}
	p.clusters = append(p.clusters, map[string]any{"path": path, "cluster": out})
	return nil
}

// render is msg as the Rego input.
func (p *parser) render(msg proto.Message) (map[string]any, error) {
	if p.viaJSON {
		return renderJSON(msg)
	}
	return renderMessage(msg, p.anys)
}

// parse reads v, the part of the document at path, into msg and validates
// it: straight from v when the builder takes it, else through the
// normalizer's JSON and protojson.
func (p *parser) parse(msg proto.Message, v any, path []any) error {
	if !p.viaJSON {
		if built, ok := build(msg, v, p.anys); ok {
			if p.validBuilt(msg, built) {
				return nil
			}
			return p.validate(msg, v, path)
		}
	}
	if err := readJSON(msg, v, path); err != nil {
		return err
	}
	return p.validate(msg, v, path)
}

// build reads v into msg, a new message, with the builder, and lists
// the Anys it built; false, with msg reset, when the builder gives up.
func build(msg proto.Message, v any, anys map[*anypb.Any]proto.Message) ([]*anypb.Any, bool) {
	b := &builder{anys: anys}
	if b.message(msg.ProtoReflect(), v) && proto.CheckInitialized(msg) == nil {
		return b.built, true
	}
	proto.Reset(msg)
	return nil, false
}

// readJSON reads v, the part of the document at path, into msg through
// the normalizer's JSON and protojson.
func readJSON(msg proto.Message, v any, path []any) error {
	n := &normalizer{path: slices.Clone(path)}
	if err := n.message(msg.ProtoReflect().Descriptor(), v); err != nil {
		return err
	}
	opts := protojson.UnmarshalOptions{Resolver: resolver{}, RecursionLimit: 10000}
	if err := opts.Unmarshal(n.buf, msg); err != nil {
		// The normalizer checks what protojson checks, with paths; this is
		// what it missed.
		return &ParseError{Path: path, Reason: strings.TrimPrefix(err.Error(), "proto: ")}
	}
	return nil
}

func unpackAny(a *anypb.Any) (proto.Message, error) {
	msg, err := anypb.UnmarshalNew(a, proto.UnmarshalOptions{Resolver: resolver{}})
	if err != nil {
		if errors.Is(err, protoregistry.NotFound) {
			return nil, fmt.Errorf("unknown extension type %s", typeName(a.GetTypeUrl()))
		}
		return nil, fmt.Errorf("%s does not decode: %v", typeName(a.GetTypeUrl()), err)
	}
	return msg, nil
}
