package lint

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	udpaannotations "github.com/cncf/xds/go/udpa/annotations"
	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	discoveryv3 "github.com/envoyproxy/go-control-plane/envoy/service/discovery/v3"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"

	// Every message of Envoy's API, so that any typed_config resolves.
	"github.com/inzone-io/inzone/internal/jsonstring"
	_ "github.com/inzone-io/inzone/lint/envoytypes"
)

// EnvoyFormat is the kind of Envoy config a document holds.
type EnvoyFormat string

// Envoy config formats.
const (
	// EnvoyBootstrap is a bootstrap: static_resources, dynamic_resources,
	// admin, node, cluster_manager, layered_runtime...
	EnvoyBootstrap EnvoyFormat = "bootstrap"
	// EnvoyClusters is an xDS DiscoveryResponse ("resources" with "@type"),
	// a list of clusters (plain, typed, or the {cluster: ...} entries of a
	// config dump), or a single typed resource. Resources other than
	// clusters (listeners, secrets...) are parsed and validated but yield no
	// cluster.
	EnvoyClusters EnvoyFormat = "clusters"
	// EnvoyConfigDump is the output of the admin /config_dump endpoint.
	EnvoyConfigDump EnvoyFormat = "config_dump"
)

// EnvoyParseError is a config Envoy would reject (or that does not parse),
// with the path of the offending field when one is known, and the reason.
type EnvoyParseError struct {
	// Path of the offending field in the document: string keys as written
	// (snake_case or lowerCamelCase) and int indices. Empty for the whole
	// document.
	Path   []any
	Reason string
}

func (e *EnvoyParseError) Error() string {
	if len(e.Path) == 0 {
		return "envoy config: " + e.Reason
	}
	return "envoy config: " + formatEnvoyPath(e.Path) + ": " + e.Reason
}

// formatEnvoyPath renders a path as a.b[2].c.
func formatEnvoyPath(p []any) string {
	var b strings.Builder
	for i, seg := range p {
		if n, ok := index(seg); ok {
			fmt.Fprintf(&b, "[%d]", n)
			continue
		}
		if i > 0 {
			b.WriteByte('.')
		}
		fmt.Fprint(&b, seg)
	}
	return b.String()
}

// Descriptors the detection and the parser look fields up in.
var (
	envoyBootstrapDesc      = (&bootstrapv3.Bootstrap{}).ProtoReflect().Descriptor()
	envoyClusterDesc        = (&clusterv3.Cluster{}).ProtoReflect().Descriptor()
	envoyDynamicClusterDesc = (&adminv3.ClustersConfigDump_DynamicCluster{}).ProtoReflect().Descriptor()
)

// DetectEnvoy says whether a decoded YAML/JSON document is an Envoy config,
// and which kind. It never claims a Kubernetes object (anything with
// apiVersion and kind) and only looks at keys and "@type" strings, so it is
// cheap enough to run on every document.
func DetectEnvoy(doc any) (EnvoyFormat, bool) {
	switch v := doc.(type) {
	case map[string]any:
		return detectEnvoyMap(v)
	case map[any]any: // yaml.v3's map when a key is not a plain string
		m, _ := envoyObject(v)
		return detectEnvoyMap(m)
	case []any:
		if len(v) == 0 {
			return "", false
		}
		for _, it := range v {
			m, ok := envoyObject(it)
			if !ok || !envoyListItem(m) {
				return "", false
			}
		}
		return EnvoyClusters, true
	}
	return "", false
}

func detectEnvoyMap(m map[string]any) (EnvoyFormat, bool) {
	if envoyIsKubernetes(m) {
		return "", false
	}
	if configs, ok := m["configs"].([]any); ok && len(configs) > 0 {
		dump := true
		for _, c := range configs {
			cm, ok := c.(map[string]any)
			t, _ := cm["@type"].(string)
			if !ok || !strings.HasPrefix(envoyTypeName(t), "envoy.admin.") {
				dump = false
				break
			}
		}
		if dump {
			return EnvoyConfigDump, true
		}
	}
	if res, ok := m["resources"]; ok {
		switch r := res.(type) {
		case []any:
			if len(r) == 0 {
				if isEnvoyTypeURL(m["type_url"]) || isEnvoyTypeURL(m["typeUrl"]) {
					return EnvoyClusters, true
				}
				break
			}
			all := true
			for _, it := range r {
				im, ok := it.(map[string]any)
				if !ok || !envoyListItem(im) {
					all = false
					break
				}
			}
			if all {
				return EnvoyClusters, true
			}
		case map[string]any: // a single resource in place of the list, which Envoy accepts
			if envoyListItem(r) {
				return EnvoyClusters, true
			}
		}
	}
	if t, ok := m["@type"].(string); ok && isEnvoyTypeURL(t) && !strings.HasPrefix(envoyTypeName(t), "envoy.admin.") {
		return EnvoyClusters, true
	}
	if envoyIsBootstrap(m) {
		return EnvoyBootstrap, true
	}
	return "", false
}

func envoyIsKubernetes(m map[string]any) bool {
	_, a := m["apiVersion"]
	_, k := m["kind"]
	return a && k
}

// envoyTypeName is the message name of a type URL: what follows the last '/'.
func envoyTypeName(url string) string {
	if i := strings.LastIndexByte(url, '/'); i >= 0 {
		return url[i+1:]
	}
	return url
}

func isEnvoyTypeURL(v any) bool {
	s, ok := v.(string)
	return ok && strings.HasPrefix(envoyTypeName(s), "envoy.")
}

// envoyListItem says whether m is an item of a list of Envoy resources: a
// typed resource, a binary Any, a config dump's {cluster: ...} entry, or a
// plain cluster.
func envoyListItem(m map[string]any) bool {
	if envoyIsKubernetes(m) {
		return false
	}
	if t, ok := m["@type"]; ok {
		return isEnvoyTypeURL(t)
	}
	if _, ok := m["value"].(string); ok && (isEnvoyTypeURL(m["type_url"]) || isEnvoyTypeURL(m["typeUrl"])) {
		return true
	}
	if c, ok := m["cluster"].(map[string]any); ok && envoyKnownFields(envoyDynamicClusterDesc, m) == len(m) {
		if t, ok := c["@type"]; ok {
			return isEnvoyTypeURL(t)
		}
		return envoyLooksLikeCluster(c)
	}
	return envoyLooksLikeCluster(m)
}

// Keys only a cluster is likely to have. A plain object is taken for a
// cluster when it has a name, one of these (or a "type" that is a cluster
// discovery type), and at most one key that is not a Cluster field: a typo
// still reaches the parser and is reported, while a list of {name, type}
// records of some other tool is not mistaken for clusters.
var envoyClusterMarkers = []string{
	"cluster_type", "clusterType", "load_assignment", "loadAssignment",
	"connect_timeout", "connectTimeout", "lb_policy", "lbPolicy",
	"eds_cluster_config", "edsClusterConfig", "dns_lookup_family", "dnsLookupFamily",
}

func envoyLooksLikeCluster(m map[string]any) bool {
	if _, ok := m["name"].(string); !ok {
		return false
	}
	marker := false
	if t, ok := m["type"].(string); ok {
		values := envoyClusterDesc.Fields().ByName("type").Enum().Values()
		for i := 0; i < values.Len() && !marker; i++ {
			marker = strings.EqualFold(string(values.Get(i).Name()), t)
		}
	}
	for _, k := range envoyClusterMarkers {
		if marker {
			break
		}
		_, marker = m[k]
	}
	unknown := len(m) - envoyKnownFields(envoyClusterDesc, m)
	if _, ok := m["@type"]; ok {
		unknown--
	}
	return marker && unknown <= 1
}

// envoyKnownFields counts the keys of m that name a field of md.
func envoyKnownFields(md protoreflect.MessageDescriptor, m map[string]any) int {
	n := 0
	for k := range m {
		if envoyField(md, k) != nil {
			n++
		}
	}
	return n
}

func envoyField(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	fields := md.Fields()
	if fd := fields.ByName(protoreflect.Name(key)); fd != nil {
		return fd
	}
	return fields.ByJSONName(key)
}

// Top-level bootstrap fields that are enough on their own; the others
// (admin, node, tracing...) are common words.
var envoyBootstrapMarkers = []string{
	"static_resources", "staticResources", "dynamic_resources", "dynamicResources",
	"cluster_manager", "clusterManager", "layered_runtime", "layeredRuntime",
	"overload_manager", "overloadManager", "bootstrap_extensions", "bootstrapExtensions",
}

// envoyIsBootstrap: a marker key, or only Bootstrap fields with at least one
// object whose keys are all fields of that field's message ({admin: {address: ...}}).
func envoyIsBootstrap(m map[string]any) bool {
	for _, k := range envoyBootstrapMarkers {
		if _, ok := m[k]; ok {
			return true
		}
	}
	if len(m) == 0 {
		return false
	}
	object := false
	for k, v := range m {
		fd := envoyField(envoyBootstrapDesc, k)
		if fd == nil {
			return false
		}
		sub, ok := v.(map[string]any)
		if ok && len(sub) > 0 && fd.Message() != nil && !fd.IsList() && !fd.IsMap() &&
			envoyKnownFields(fd.Message(), sub) == len(sub) {
			object = true
		}
	}
	return object
}

// ParseEnvoy parses doc, a decoded YAML/JSON document of the given format,
// with Envoy's own API types, the way Envoy's loader does: enum names in any
// case, snake_case or lowerCamelCase keys, a single value in place of a
// list, every "@type" resolved, unknown fields rejected, and the
// protoc-gen-validate rules checked (inside typed configs too). A config
// Envoy would reject is an *EnvoyParseError.
//
// The result is the Rego input of an Envoy config (see the package doc)
// without "apiVersion", "kind" and "metadata", which the caller adds:
// "format", "bootstrap" (bootstrap and config dump) and "clusters", each
// {"path": <path of the cluster in doc>, "cluster": <Cluster as protojson
// with proto field names>}.
func ParseEnvoy(doc any, format EnvoyFormat) (map[string]any, error) {
	return parseEnvoy(doc, format, false)
}

// parseEnvoy is ParseEnvoy; viaJSON reads and renders every message through
// protojson (the normalizer's JSON in, protojson's JSON out) rather than
// straight from and to the decoded values. ParseEnvoy's result must not
// depend on it, which the tests check.
func parseEnvoy(doc any, format EnvoyFormat, viaJSON bool) (map[string]any, error) {
	p := &envoyParser{doc: doc, clusters: []any{}, anys: map[*anypb.Any]proto.Message{}, viaJSON: viaJSON}
	var err error
	switch format {
	case EnvoyBootstrap:
		err = p.bootstrap()
	case EnvoyClusters:
		err = p.clusterList()
	case EnvoyConfigDump:
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

// envoyParser parses one document.
type envoyParser struct {
	doc          any
	clusters     []any
	bootstrapOut map[string]any
	// anys holds the messages unpacked from the document's Anys, which the
	// validation, the parser and the rendering all read.
	anys    map[*anypb.Any]proto.Message
	viaJSON bool
}

// unpack is unpackAny(a), once per Any.
func (p *envoyParser) unpack(a *anypb.Any) (proto.Message, error) {
	if msg, ok := p.anys[a]; ok {
		return msg, nil
	}
	msg, err := unpackAny(a)
	if err == nil {
		p.anys[a] = msg
	}
	return msg, err
}

func (p *envoyParser) bootstrap() error {
	if _, ok := envoyObject(p.doc); !ok {
		return &EnvoyParseError{Reason: "a bootstrap must be an object, not " + envoyDescribe(p.doc)}
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
		path := envoyDocPath(p.doc, nil, []envoySeg{envoyFieldSeg("static_resources", "staticResources"), envoyFieldSeg("clusters", "clusters"), envoyIndexSeg(i)})
		p.clusters = append(p.clusters, map[string]any{"path": path, "cluster": rendered[i]})
	}
	return nil
}

func (p *envoyParser) clusterList() error {
	switch v := p.doc.(type) {
	case []any:
		for i, it := range v {
			if err := p.resource(it, []any{i}); err != nil {
				return err
			}
		}
		return nil
	case map[string]any, map[any]any:
		m, _ := envoyObject(v)
		res, ok := m["resources"]
		if !ok {
			if _, typed := m["@type"]; typed {
				return p.resource(m, nil)
			}
			return &EnvoyParseError{Reason: `expected a list of clusters, a "resources" list or a typed resource`}
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
	return &EnvoyParseError{Reason: "expected a list of clusters or an object, not " + envoyDescribe(p.doc)}
}

// resource parses one resource of a clusters document at path.
func (p *envoyParser) resource(item any, path []any) error {
	m, ok := envoyObject(item)
	if !ok {
		return &EnvoyParseError{Path: path, Reason: "a resource must be an object, not " + envoyDescribe(item)}
	}
	if _, typed := m["@type"]; typed {
		a := &anypb.Any{}
		if err := p.parse(a, item, path); err != nil {
			return err
		}
		return p.typedResource(a, path)
	}
	if tu, val, ok := envoyBinaryAny(m); ok {
		a := &anypb.Any{TypeUrl: tu}
		raw, err := decodeEnvoyBase64(val)
		if err != nil {
			return &EnvoyParseError{Path: envoyAppendPath(path, "value"), Reason: "value of a binary Any is not base64: " + err.Error()}
		}
		a.Value = raw
		msg, err := p.unpack(a)
		if err != nil {
			return &EnvoyParseError{Path: envoyAppendPath(path, "value"), Reason: err.Error()}
		}
		if err := p.validate(msg, item, path); err != nil {
			return err
		}
		return p.typedResource(a, path)
	}
	if _, wrapped := m["cluster"]; wrapped && envoyKnownFields(envoyDynamicClusterDesc, m) == len(m) {
		dc := &adminv3.ClustersConfigDump_DynamicCluster{}
		if err := p.parse(dc, item, path); err != nil {
			return err
		}
		return p.addClusterAny(dc.GetCluster(), envoyDocPath(p.doc, path, []envoySeg{envoyFieldSeg("cluster", "cluster")}))
	}
	c := &clusterv3.Cluster{}
	if err := p.parse(c, item, path); err != nil {
		return err
	}
	return p.addCluster(c, slices.Clone(path))
}

// typedResource records the cluster in a, a resource at path: a Cluster, or
// a discovery Resource wrapping one. Other types yield nothing.
func (p *envoyParser) typedResource(a *anypb.Any, path []any) error {
	msg, err := p.unpack(a)
	if err != nil {
		return &EnvoyParseError{Path: path, Reason: err.Error()}
	}
	if c, ok := upgradeEnvoy[*clusterv3.Cluster](msg); ok {
		return p.addCluster(c, slices.Clone(path))
	}
	if r, ok := upgradeEnvoy[*discoveryv3.Resource](msg); ok {
		return p.addClusterAny(r.GetResource(), envoyDocPath(p.doc, path, []envoySeg{envoyFieldSeg("resource", "resource")}))
	}
	return nil
}

// envoyBinaryAny recognizes an Any as Go's encoding/json writes it: type_url and
// base64 value.
func envoyBinaryAny(m map[string]any) (typeURL, value string, ok bool) {
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

func (p *envoyParser) configDump() error {
	if _, ok := envoyObject(p.doc); !ok {
		return &EnvoyParseError{Reason: "a config dump must be an object, not " + envoyDescribe(p.doc)}
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
			return &EnvoyParseError{Path: []any{"configs", k}, Reason: err.Error()}
		}
		if up, ok := upgradeEnvoy[*adminv3.BootstrapConfigDump](msg); ok {
			msg = up
		} else if up, ok := upgradeEnvoy[*adminv3.ClustersConfigDump](msg); ok {
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
			base := []envoySeg{envoyFieldSeg("configs", "configs"), envoyIndexSeg(k)}
			for i, sc := range dump.GetStaticClusters() {
				path := envoyDocPath(p.doc, nil, append(slices.Clone(base), envoyFieldSeg("static_clusters", "staticClusters"), envoyIndexSeg(i), envoyFieldSeg("cluster", "cluster")))
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
					path := envoyDocPath(p.doc, nil, append(slices.Clone(base), envoyFieldSeg(list.name, list.json), envoyIndexSeg(i), envoyFieldSeg("cluster", "cluster")))
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
			path := envoyDocPath(p.doc, nil, []envoySeg{
				envoyFieldSeg("configs", "configs"), envoyIndexSeg(bootstrapIndex), envoyFieldSeg("bootstrap", "bootstrap"),
				envoyFieldSeg("static_resources", "staticResources"), envoyFieldSeg("clusters", "clusters"), envoyIndexSeg(i),
			})
			if err := p.addCluster(c, path); err != nil {
				return err
			}
		}
	}
	return nil
}

// addClusterAny records the cluster inside a, if a holds one.
func (p *envoyParser) addClusterAny(a *anypb.Any, path []any) error {
	if a == nil || a.GetTypeUrl() == "" {
		return nil
	}
	msg, err := p.unpack(a)
	if err != nil {
		return &EnvoyParseError{Path: path, Reason: err.Error()}
	}
	if c, ok := upgradeEnvoy[*clusterv3.Cluster](msg); ok {
		return p.addCluster(c, path)
	}
	return nil
}

func (p *envoyParser) addCluster(c *clusterv3.Cluster, path []any) error {
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
func (p *envoyParser) render(msg proto.Message) (map[string]any, error) {
	if p.viaJSON {
		return renderEnvoyJSON(msg)
	}
	return renderEnvoy(msg, p.anys)
}

// parse reads v, the part of the document at path, into msg and validates
// it: straight from v when the builder takes it, else through the
// normalizer's JSON and protojson.
func (p *envoyParser) parse(msg proto.Message, v any, path []any) error {
	if !p.viaJSON {
		if built, ok := buildEnvoy(msg, v, p.anys); ok {
			if p.validBuilt(msg, built) {
				return nil
			}
			return p.validate(msg, v, path)
		}
	}
	if err := readEnvoyJSON(msg, v, path); err != nil {
		return err
	}
	return p.validate(msg, v, path)
}

// buildEnvoy reads v into msg, a new message, with the builder, and lists
// the Anys it built; false, with msg reset, when the builder gives up.
func buildEnvoy(msg proto.Message, v any, anys map[*anypb.Any]proto.Message) ([]*anypb.Any, bool) {
	b := &envoyBuilder{anys: anys}
	if b.message(msg.ProtoReflect(), v) && proto.CheckInitialized(msg) == nil {
		return b.built, true
	}
	proto.Reset(msg)
	return nil, false
}

// validBuilt says that msg, which the builder built with the Anys in built,
// breaks no protoc-gen-validate rule, checking only what validate checks:
// msg's rules, which cover every message in it but those inside Anys, and
// the rules of each Any's message. It runs those checks straight, without
// validate's walk of the message for its Anys: nearly every config is
// valid, and the walk was most of the validation's time. Whenever this
// says no (a violation, or an Any whose message was not recorded), validate
// decides, and names the violation as ever. built may hold more Anys than
// msg does, never fewer (only the builder makes Anys), and one more checked
// can only turn a yes into a no.
func (p *envoyParser) validBuilt(msg proto.Message, built []*anypb.Any) bool {
	if !pgvValid(msg) { // a root Any passes: an Any has no rules of its own
		return false
	}
	for _, a := range built {
		if a.GetTypeUrl() == "" {
			continue // validate skips an empty Any
		}
		inner, ok := p.anys[a]
		if !ok || !pgvValid(inner) {
			return false
		}
	}
	return true
}

// pgvValid says whether m passes its protoc-gen-validate rules, if it has
// any; Validate stops at the first violation, where ValidateAll goes on.
func pgvValid(m proto.Message) bool {
	v, ok := m.(interface{ Validate() error })
	return !ok || v.Validate() == nil
}

// readEnvoyJSON reads v, the part of the document at path, into msg through
// the normalizer's JSON and protojson.
func readEnvoyJSON(msg proto.Message, v any, path []any) error {
	n := &envoyNormalizer{path: slices.Clone(path)}
	if err := n.message(msg.ProtoReflect().Descriptor(), v); err != nil {
		return err
	}
	opts := protojson.UnmarshalOptions{Resolver: envoyResolver{}, RecursionLimit: 10000}
	if err := opts.Unmarshal(n.buf, msg); err != nil {
		// The normalizer checks what protojson checks, with paths; this is
		// what it missed.
		return &EnvoyParseError{Path: path, Reason: strings.TrimPrefix(err.Error(), "proto: ")}
	}
	return nil
}

func unpackAny(a *anypb.Any) (proto.Message, error) {
	msg, err := anypb.UnmarshalNew(a, proto.UnmarshalOptions{Resolver: envoyResolver{}})
	if err != nil {
		if errors.Is(err, protoregistry.NotFound) {
			return nil, fmt.Errorf("unknown extension type %s", envoyTypeName(a.GetTypeUrl()))
		}
		return nil, fmt.Errorf("%s does not decode: %v", envoyTypeName(a.GetTypeUrl()), err)
	}
	return msg, nil
}

// envoyResolver resolves "@type" like protoregistry.GlobalTypes, which
// envoytypes fills with all of Envoy's API, and also resolves the v2 (and
// v2alpha...) names that old configs and config dumps carry to the v3
// message that replaced them, as recorded in the v3 message's
// udpa.annotations.versioning option. Anything else is unknown, as it is to
// Envoy.
type envoyResolver struct{}

func (envoyResolver) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
	if err == nil {
		return mt, nil
	}
	if up, ok := upgradedEnvoyType(name); ok {
		return protoregistry.GlobalTypes.FindMessageByName(up)
	}
	return nil, err
}

func (r envoyResolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	return r.FindMessageByName(protoreflect.FullName(envoyTypeName(url)))
}

func (envoyResolver) FindExtensionByName(field protoreflect.FullName) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByName(field)
}

func (envoyResolver) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByNumber(message, field)
}

// envoySuccessors maps the previous_message_type of each registered message
// (its udpa.annotations.versioning option) to that message:
// envoy.api.v2.Cluster to envoy.config.cluster.v3.Cluster. Built on first use
// from envoySuccessorPairs, generated from the registry (computing it walks
// every descriptor's options, some 16 ms); TestEnvoySuccessorsGenerated
// keeps the two equal.
var envoySuccessors = sync.OnceValue(func() map[protoreflect.FullName]protoreflect.FullName {
	next := make(map[protoreflect.FullName]protoreflect.FullName, len(envoySuccessorPairs))
	for _, p := range envoySuccessorPairs {
		next[protoreflect.FullName(p[0])] = protoreflect.FullName(p[1])
	}
	return next
})

// computeEnvoySuccessors is envoySuccessors from the registry itself.
func computeEnvoySuccessors() map[protoreflect.FullName]protoreflect.FullName {
	next := map[protoreflect.FullName]protoreflect.FullName{}
	var visit func(protoreflect.MessageDescriptors)
	visit = func(mds protoreflect.MessageDescriptors) {
		for i := 0; i < mds.Len(); i++ {
			md := mds.Get(i)
			visit(md.Messages())
			opts := md.Options()
			if opts == nil || !proto.HasExtension(opts, udpaannotations.E_Versioning) {
				continue
			}
			va, _ := proto.GetExtension(opts, udpaannotations.E_Versioning).(*udpaannotations.VersioningAnnotation)
			if prev := protoreflect.FullName(va.GetPreviousMessageType()); prev != "" {
				next[prev] = md.FullName()
			}
		}
	}
	protoregistry.GlobalFiles.RangeFiles(func(fd protoreflect.FileDescriptor) bool {
		visit(fd.Messages())
		return true
	})
	return next
}

// upgradedEnvoyType is the newest registered successor of name, a type
// that is not registered itself.
func upgradedEnvoyType(name protoreflect.FullName) (protoreflect.FullName, bool) {
	next := envoySuccessors()
	found := protoreflect.FullName("")
	for i := 0; i < 8; i++ {
		n, ok := next[name]
		if !ok {
			break
		}
		name = n
		if _, err := protoregistry.GlobalTypes.FindMessageByName(name); err == nil {
			found = name
		}
	}
	return found, found != ""
}

// upgradeEnvoy returns msg as a message of type target, converting an older
// API version of it (envoy.api.v2.Cluster for envoy.config.cluster.v3.Cluster)
// through the wire format, which keeps field numbers across versions, as
// Envoy's own version converter did. ok is false when msg is not target nor
// one of its predecessors.
func upgradeEnvoy[T proto.Message](msg proto.Message) (T, bool) {
	var zero T
	if t, ok := msg.(T); ok {
		return t, true
	}
	target := zero.ProtoReflect().Descriptor().FullName()
	name := msg.ProtoReflect().Descriptor().FullName()
	next := envoySuccessors()
	for i := 0; i < 8 && name != target; i++ {
		n, ok := next[name]
		if !ok {
			return zero, false
		}
		name = n
	}
	if name != target {
		return zero, false
	}
	b, err := proto.Marshal(msg)
	if err != nil {
		return zero, false
	}
	out := zero.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(b, out); err != nil {
		return zero, false
	}
	t, ok := out.(T)
	return t, ok
}

// envoyMaxDepth bounds nesting, so hostile input cannot exhaust the stack.
const envoyMaxDepth = 1000

// envoyNormalizer writes a decoded YAML/JSON value as the JSON protojson
// accepts for a message, accepting what Envoy's loader (protobuf's C++ JSON
// parser with case_insensitive_enum_parsing and its legacy syntax) accepts,
// and reporting what it rejects with the path of the field.
type envoyNormalizer struct {
	buf   []byte
	path  []any
	depth int
}

func (n *envoyNormalizer) errorf(format string, args ...any) error {
	return &EnvoyParseError{Path: slices.Clone(n.path), Reason: fmt.Sprintf(format, args...)}
}

// errAt reports a problem with key, a key of the current object.
func (n *envoyNormalizer) errAt(key any, format string, args ...any) error {
	return &EnvoyParseError{Path: envoyAppendPath(n.path, key), Reason: fmt.Sprintf(format, args...)}
}

func (n *envoyNormalizer) push(seg any) { n.path = append(n.path, seg) }
func (n *envoyNormalizer) pop()         { n.path = n.path[:len(n.path)-1] }

// Well-known types with their own JSON form.
const (
	wktAny       = "google.protobuf.Any"
	wktDuration  = "google.protobuf.Duration"
	wktTimestamp = "google.protobuf.Timestamp"
	wktFieldMask = "google.protobuf.FieldMask"
	wktStruct    = "google.protobuf.Struct"
	wktValue     = "google.protobuf.Value"
	wktListValue = "google.protobuf.ListValue"
	wktEmpty     = "google.protobuf.Empty"
	wktNullValue = "google.protobuf.NullValue"
)

func isWKTWrapper(name protoreflect.FullName) bool {
	switch name {
	case "google.protobuf.DoubleValue", "google.protobuf.FloatValue", "google.protobuf.Int64Value",
		"google.protobuf.UInt64Value", "google.protobuf.Int32Value", "google.protobuf.UInt32Value",
		"google.protobuf.BoolValue", "google.protobuf.StringValue", "google.protobuf.BytesValue":
		return true
	}
	return false
}

// wktHasCustomJSON: the types whose JSON form inside an Any is {"@type", "value"}.
func wktHasCustomJSON(name protoreflect.FullName) bool {
	switch name {
	case wktAny, wktDuration, wktTimestamp, wktFieldMask, wktStruct, wktValue, wktListValue, wktEmpty:
		return true
	}
	return isWKTWrapper(name)
}

// message writes v as a message of type md.
func (n *envoyNormalizer) message(md protoreflect.MessageDescriptor, v any) error {
	n.depth++
	defer func() { n.depth-- }()
	if n.depth > envoyMaxDepth {
		return n.errorf("nested more than %d levels deep", envoyMaxDepth)
	}
	name := md.FullName()
	switch {
	case name == wktAny:
		return n.anyMessage(v)
	case name == wktDuration:
		return n.duration(v)
	case name == wktTimestamp:
		return n.timestamp(v)
	case name == wktFieldMask:
		return n.fieldMask(v)
	case name == wktStruct:
		if _, ok := envoyObject(v); !ok {
			return n.errorf("expected an object for %s, got %s", name, envoyDescribe(v))
		}
		return n.plain(v)
	case name == wktListValue:
		if _, ok := v.([]any); !ok {
			return n.errorf("expected a list for %s, got %s", name, envoyDescribe(v))
		}
		return n.plain(v)
	case name == wktValue:
		return n.plain(v)
	case isWKTWrapper(name):
		if m, ok := envoyObject(v); ok { // Envoy's parser also takes the object form {value: x}
			// The first unknown key in order, so the error does not
			// depend on map iteration.
			for _, k := range envoySortedKeys(m) {
				if k != "value" {
					return n.errAt(k, "unknown field %q in %s", k, name)
				}
			}
			x, ok := m["value"]
			if !ok || x == nil {
				n.buf = append(n.buf, envoyDefaultMessageJSON(md)...)
				return nil
			}
			n.push("value")
			defer n.pop()
			v = x
		}
		return n.scalar(md.Fields().ByName("value"), v)
	}
	m, ok := envoyObject(v)
	if !ok {
		return n.errorf("expected an object for %s, got %s", name, envoyDescribe(v))
	}
	return n.fields(md, m, false)
}

// fields writes object m as message md. In an Any, "@type" is skipped and
// already written.
func (n *envoyNormalizer) fields(md protoreflect.MessageDescriptor, m map[string]any, inAny bool) error {
	type entry struct {
		fd  protoreflect.FieldDescriptor
		key string
		val any
	}
	keys := envoySortedKeys(m)
	entries := make([]entry, 0, len(keys))
	for _, k := range keys {
		if inAny && k == "@type" {
			continue
		}
		fd := envoyField(md, k)
		if fd == nil {
			return n.errAt(k, "unknown field %q in %s", k, md.FullName())
		}
		v := m[k]
		if v == nil && !envoyAcceptsNull(fd) {
			continue // null is the default
		}
		dup := -1
		od := fd.ContainingOneof()
		for i, e := range entries {
			if e.fd == fd {
				dup = i
				break
			}
			if od != nil && !od.IsSynthetic() && e.fd.ContainingOneof() == od {
				return n.errAt(k, "%q and %q are both set, but %s takes only one of the oneof %s", e.key, k, md.FullName(), od.Name())
			}
		}
		if dup >= 0 { // both the snake_case and the lowerCamelCase key: merged, as Envoy does
			entries[dup].val = envoyMerge(entries[dup].val, v)
			continue
		}
		entries = append(entries, entry{fd: fd, key: k, val: v})
	}
	if !inAny {
		n.buf = append(n.buf, '{')
	}
	for i, e := range entries {
		if i > 0 || inAny {
			n.buf = append(n.buf, ',')
		}
		n.buf = jsonstring.Append(n.buf, string(e.fd.Name()))
		n.buf = append(n.buf, ':')
		n.push(e.key)
		err := n.field(e.fd, e.val)
		n.pop()
		if err != nil {
			return err
		}
	}
	if !inAny {
		n.buf = append(n.buf, '}')
	}
	return nil
}

func envoyAcceptsNull(fd protoreflect.FieldDescriptor) bool {
	if fd.IsList() || fd.IsMap() {
		return false
	}
	switch {
	case fd.Message() != nil:
		return fd.Message().FullName() == wktValue
	case fd.Enum() != nil:
		return fd.Enum().FullName() == wktNullValue
	}
	return false
}

// envoyMerge combines the values of a field given twice: objects merge,
// lists concatenate, otherwise the later one wins.
func envoyMerge(a, b any) any {
	am, aok := envoyObject(a)
	bm, bok := envoyObject(b)
	if aok && bok {
		out := make(map[string]any, len(am)+len(bm))
		for k, v := range am {
			out[k] = v
		}
		for k, v := range bm {
			if old, ok := out[k]; ok {
				v = envoyMerge(old, v)
			}
			out[k] = v
		}
		return out
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok {
		return append(slices.Clone(al), bl...)
	}
	return b
}

// field writes the value of fd.
func (n *envoyNormalizer) field(fd protoreflect.FieldDescriptor, v any) error {
	switch {
	case fd.IsMap():
		m, ok := envoyObject(v)
		if !ok {
			return n.errorf("expected an object for map field %s, got %s", fd.Name(), envoyDescribe(v))
		}
		n.buf = append(n.buf, '{')
		vf := fd.MapValue()
		i := 0
		for _, k := range envoySortedKeys(m) {
			x := m[k]
			if x == nil && !envoyAcceptsNull(vf) {
				continue
			}
			if err := checkEnvoyMapKey(fd.MapKey(), k); err != "" {
				return n.errAt(k, "invalid map key %q: %s", k, err)
			}
			if i > 0 {
				n.buf = append(n.buf, ',')
			}
			i++
			n.buf = jsonstring.Append(n.buf, k)
			n.buf = append(n.buf, ':')
			n.push(k)
			err := n.scalar(vf, x)
			n.pop()
			if err != nil {
				return err
			}
		}
		n.buf = append(n.buf, '}')
		return nil
	case fd.IsList():
		n.buf = append(n.buf, '[')
		count := 0
		var err error
		if l, ok := v.([]any); ok {
			err = n.list(fd, l, &count)
		} else {
			// A single value in place of a list, which Envoy's parser accepts.
			err = n.element(fd, v, &count)
		}
		n.buf = append(n.buf, ']')
		return err
	}
	return n.scalar(fd, v)
}

// checkEnvoyMapKey checks a map key (a JSON object key) against the key type.
func checkEnvoyMapKey(kd protoreflect.FieldDescriptor, k string) string {
	switch kd.Kind() {
	case protoreflect.StringKind:
		return ""
	case protoreflect.BoolKind:
		if k != "true" && k != "false" {
			return "expected true or false"
		}
		return ""
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if _, err := strconv.ParseInt(k, 10, 32); err != nil {
			return "expected an int32"
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if _, err := strconv.ParseInt(k, 10, 64); err != nil {
			return "expected an int64"
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if _, err := strconv.ParseUint(k, 10, 32); err != nil {
			return "expected a uint32"
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if _, err := strconv.ParseUint(k, 10, 64); err != nil {
			return "expected a uint64"
		}
	}
	return ""
}

// list writes the elements of l; nested lists are flattened, as Envoy's
// parser does, except for lists of Value and ListValue.
func (n *envoyNormalizer) list(fd protoreflect.FieldDescriptor, l []any, count *int) error {
	flatten := fd.Message() == nil || (fd.Message().FullName() != wktValue && fd.Message().FullName() != wktListValue)
	for i, x := range l {
		n.push(i)
		var err error
		if inner, ok := x.([]any); ok && flatten {
			n.depth++
			if n.depth > envoyMaxDepth {
				err = n.errorf("nested more than %d levels deep", envoyMaxDepth)
			} else {
				err = n.list(fd, inner, count)
			}
			n.depth--
		} else {
			err = n.element(fd, x, count)
		}
		n.pop()
		if err != nil {
			return err
		}
	}
	return nil
}

func (n *envoyNormalizer) element(fd protoreflect.FieldDescriptor, x any, count *int) error {
	if *count > 0 {
		n.buf = append(n.buf, ',')
	}
	*count++
	if x == nil && !envoyAcceptsNullElement(fd) {
		// Envoy's parser takes null in a list as the default element.
		n.buf = append(n.buf, envoyDefaultJSON(fd)...)
		return nil
	}
	return n.scalar(fd, x)
}

func envoyAcceptsNullElement(fd protoreflect.FieldDescriptor) bool {
	return fd.Message() != nil && fd.Message().FullName() == wktValue
}

// envoyDefaultJSON is the JSON of the default value of one element of fd.
func envoyDefaultJSON(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return envoyDefaultMessageJSON(fd.Message())
	case protoreflect.BoolKind:
		return "false"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return `""`
	}
	return "0"
}

func envoyDefaultMessageJSON(md protoreflect.MessageDescriptor) string {
	name := md.FullName()
	switch {
	case name == wktDuration:
		return `"0s"`
	case name == wktTimestamp:
		return `"1970-01-01T00:00:00Z"`
	case name == wktFieldMask:
		return `""`
	case name == wktListValue:
		return "[]"
	case name == wktValue:
		return "null"
	case isWKTWrapper(name):
		return envoyDefaultJSON(md.Fields().ByName("value"))
	}
	return "{}"
}

// scalar writes one value of fd's type (a singular field, a list element or
// a map value).
func (n *envoyNormalizer) scalar(fd protoreflect.FieldDescriptor, v any) error {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return n.message(fd.Message(), v)
	case protoreflect.EnumKind:
		return n.enum(fd.Enum(), v)
	case protoreflect.BoolKind:
		b, ok := envoyBool(v)
		if !ok {
			return n.errorf("expected true or false, got %s", envoyDescribe(v))
		}
		n.buf = strconv.AppendBool(n.buf, b)
		return nil
	case protoreflect.StringKind:
		s, ok := envoyString(v)
		if !ok {
			return n.errorf("expected a string, got %s", envoyDescribe(v))
		}
		n.buf = jsonstring.Append(n.buf, s)
		return nil
	case protoreflect.BytesKind:
		s, ok := v.(string)
		if !ok {
			return n.errorf("expected a base64 string, got %s", envoyDescribe(v))
		}
		if _, err := decodeEnvoyBase64(s); err != nil {
			return n.errorf("expected a base64 string: %v", err)
		}
		n.buf = jsonstring.Append(n.buf, s)
		return nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f, ok := envoyFloat(v)
		if !ok {
			return n.errorf("expected a number, got %s", envoyDescribe(v))
		}
		if fd.Kind() == protoreflect.FloatKind && !math.IsInf(f, 0) && math.IsInf(float64(float32(f)), 0) {
			return n.errorf("%v is out of range for a float", f)
		}
		n.buf = appendEnvoyJSONFloat(n.buf, f)
		return nil
	}
	// Integers.
	text, ok := envoyIntegerText(v)
	if !ok {
		return n.errorf("expected an integer, got %s", envoyDescribe(v))
	}
	var bits int
	var signed bool
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		bits, signed = 32, true
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		bits, signed = 64, true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		bits = 32
	default:
		bits = 64
	}
	if signed {
		if _, err := strconv.ParseInt(text, 10, bits); err != nil {
			return n.errorf("%s is out of range for an int%d", text, bits)
		}
	} else if _, err := strconv.ParseUint(text, 10, bits); err != nil {
		if strings.HasPrefix(text, "-") {
			return n.errorf("%s is negative, but the field is unsigned", text)
		}
		return n.errorf("%s is out of range for a uint%d", text, bits)
	}
	n.buf = append(n.buf, text...)
	return nil
}

// enum writes an enum value: a name in any case (Envoy parses enum names
// case-insensitively) becomes the declared name, a number stays a number.
func (n *envoyNormalizer) enum(ed protoreflect.EnumDescriptor, v any) error {
	if v == nil && ed.FullName() == wktNullValue {
		n.buf = append(n.buf, "null"...)
		return nil
	}
	if s, ok := v.(string); ok {
		values := ed.Values()
		if values.ByName(protoreflect.Name(s)) != nil {
			n.buf = jsonstring.Append(n.buf, s)
			return nil
		}
		for i := 0; i < values.Len(); i++ {
			if name := string(values.Get(i).Name()); strings.EqualFold(name, s) {
				n.buf = jsonstring.Append(n.buf, name)
				return nil
			}
		}
		if i, err := strconv.ParseInt(s, 10, 32); err == nil {
			n.buf = strconv.AppendInt(n.buf, i, 10)
			return nil
		}
		return n.errorf("invalid value %q for enum %s (one of %s)", s, ed.FullName(), envoyEnumNames(ed))
	}
	text, ok := envoyIntegerText(v)
	if !ok {
		return n.errorf("expected a name of enum %s, got %s", ed.FullName(), envoyDescribe(v))
	}
	if _, err := strconv.ParseInt(text, 10, 32); err != nil {
		return n.errorf("%s is out of range for enum %s", text, ed.FullName())
	}
	n.buf = append(n.buf, text...)
	return nil
}

func envoyEnumNames(ed protoreflect.EnumDescriptor) string {
	values := ed.Values()
	names := make([]string, 0, values.Len())
	for i := 0; i < values.Len() && i < 12; i++ {
		names = append(names, string(values.Get(i).Name()))
	}
	if values.Len() > 12 {
		names = append(names, "...")
	}
	return strings.Join(names, ", ")
}

// anyMessage writes an Any: "@type" names the message, whose fields sit
// beside it (or under "value" for a well-known type).
func (n *envoyNormalizer) anyMessage(v any) error {
	m, ok := envoyObject(v)
	if !ok {
		return n.errorf(`expected an object with "@type", got %s`, envoyDescribe(v))
	}
	t, ok := m["@type"]
	if !ok {
		if len(m) == 0 {
			n.buf = append(n.buf, "{}"...)
			return nil
		}
		return n.errorf(`missing "@type": a typed config names its type, e.g. "@type": type.googleapis.com/envoy.extensions...`)
	}
	url, ok := t.(string)
	if !ok {
		return n.errAt("@type", "expected a type URL string, got %s", envoyDescribe(t))
	}
	mt, err := envoyResolver{}.FindMessageByURL(url)
	if err != nil {
		return n.errAt("@type", "unknown extension type %s", envoyTypeName(url))
	}
	md := mt.Descriptor()
	n.buf = append(n.buf, `{"@type":`...)
	n.buf = jsonstring.Append(n.buf, url)
	if wktHasCustomJSON(md.FullName()) {
		for _, k := range envoySortedKeys(m) {
			if k != "@type" && k != "value" {
				return n.errAt(k, `unknown field %q: an Any holding %s has only "@type" and "value"`, k, md.FullName())
			}
		}
		n.buf = append(n.buf, `,"value":`...)
		x, ok := m["value"]
		if !ok || (x == nil && md.FullName() != wktValue) {
			n.buf = append(n.buf, envoyDefaultMessageJSON(md)...)
		} else {
			n.push("value")
			err := n.message(md, x)
			n.pop()
			if err != nil {
				return err
			}
		}
		n.buf = append(n.buf, '}')
		return nil
	}
	n.depth++
	defer func() { n.depth-- }()
	if err := n.fields(md, m, true); err != nil {
		return err
	}
	n.buf = append(n.buf, '}')
	return nil
}

// fieldMask writes a FieldMask: "a.b,cD" (paths in lowerCamelCase, or in
// snake_case as Envoy's parser also takes), or the object form {paths: [...]}.
func (n *envoyNormalizer) fieldMask(v any) error {
	var paths []string
	switch x := v.(type) {
	case string:
		if x != "" {
			paths = strings.Split(x, ",")
		}
	case map[string]any, map[any]any:
		m, _ := envoyObject(x)
		for _, k := range envoySortedKeys(m) {
			if k != "paths" {
				return n.errAt(k, `unknown field %q in %s`, k, wktFieldMask)
			}
			list, ok := m[k].([]any)
			if !ok {
				list = []any{m[k]}
			}
			for i, p := range list {
				s, ok := p.(string)
				if !ok {
					n.push(k)
					err := n.errAt(i, "expected a field path string, got %s", envoyDescribe(p))
					n.pop()
					return err
				}
				paths = append(paths, s)
			}
		}
	default:
		return n.errorf("expected a field mask string such as \"name,loadAssignment\", got %s", envoyDescribe(v))
	}
	for i, p := range paths {
		camel := []byte{}
		for j := 0; j < len(p); j++ {
			c := p[j]
			switch {
			case c == '_' && j+1 < len(p) && p[j+1] >= 'a' && p[j+1] <= 'z':
				j++
				camel = append(camel, p[j]-'a'+'A')
			case c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
				camel = append(camel, c)
			default:
				return n.errorf("invalid field path %q in field mask", p)
			}
		}
		paths[i] = string(camel)
	}
	n.buf = jsonstring.Append(n.buf, strings.Join(paths, ","))
	return nil
}

// duration writes a Duration: "1s", "0.25s", "-1.5s"; Envoy's parser also
// takes the object form {seconds, nanos}.
func (n *envoyNormalizer) duration(v any) error {
	switch x := v.(type) {
	case string:
		if err := checkEnvoyDuration(x); err != "" {
			return n.errorf("invalid duration %q: %s", x, err)
		}
		n.buf = jsonstring.Append(n.buf, x)
		return nil
	case map[string]any, map[any]any:
		d := &durationpb.Duration{}
		if err := n.secondsNanos(x, &d.Seconds, &d.Nanos); err != nil {
			return err
		}
		if err := d.CheckValid(); err != nil {
			return n.errorf("invalid duration: %v", err)
		}
		b, err := protojson.Marshal(d)
		if err != nil {
			return n.errorf("invalid duration: %v", err)
		}
		n.buf = append(n.buf, b...)
		return nil
	}
	return n.errorf(`expected a duration string such as "5s" or "0.25s", got %s`, envoyDescribe(v))
}

func (n *envoyNormalizer) timestamp(v any) error {
	switch x := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil || t.Year() < 1 || t.Year() > 9999 {
			return n.errorf("invalid timestamp %q: want RFC 3339, e.g. 2020-10-25T20:37:05.838Z", x)
		}
		n.buf = jsonstring.Append(n.buf, x)
		return nil
	case map[string]any, map[any]any:
		ts := &timestamppb.Timestamp{}
		if err := n.secondsNanos(x, &ts.Seconds, &ts.Nanos); err != nil {
			return err
		}
		if err := ts.CheckValid(); err != nil {
			return n.errorf("invalid timestamp: %v", err)
		}
		b, err := protojson.Marshal(ts)
		if err != nil {
			return n.errorf("invalid timestamp: %v", err)
		}
		n.buf = append(n.buf, b...)
		return nil
	}
	return n.errorf("expected an RFC 3339 timestamp string, got %s", envoyDescribe(v))
}

// secondsNanos reads the object form {seconds, nanos} of a Duration or Timestamp.
func (n *envoyNormalizer) secondsNanos(v any, secs *int64, nanos *int32) error {
	m, _ := envoyObject(v)
	for _, k := range envoySortedKeys(m) {
		text, ok := envoyIntegerText(m[k])
		switch k {
		case "seconds":
			s, err := strconv.ParseInt(text, 10, 64)
			if !ok || err != nil {
				return n.errAt(k, "expected an integer, got %s", envoyDescribe(m[k]))
			}
			*secs = s
		case "nanos":
			ns, err := strconv.ParseInt(text, 10, 32)
			if !ok || err != nil {
				return n.errAt(k, "expected an integer, got %s", envoyDescribe(m[k]))
			}
			*nanos = int32(ns)
		default:
			return n.errAt(k, `unknown field %q: expected "seconds" and "nanos"`, k)
		}
	}
	return nil
}

// checkEnvoyDuration checks the JSON form of a Duration as protobuf parses it:
// an optional '-', digits, up to 9 fractional digits, 's'.
func checkEnvoyDuration(s string) string {
	if !strings.HasSuffix(s, "s") {
		return `it must end in "s" (seconds), e.g. "5s" or "0.25s"`
	}
	body := strings.TrimPrefix(s[:len(s)-1], "-")
	intPart, frac, hasFrac := strings.Cut(body, ".")
	if intPart == "" || strings.Trim(intPart, "0123456789") != "" {
		return `it must be a number of seconds, e.g. "5s" or "0.25s"`
	}
	if hasFrac && (frac == "" || len(frac) > 9 || strings.Trim(frac, "0123456789") != "") {
		return "at most 9 fractional digits"
	}
	secs, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || secs > 315576000000 {
		return "out of range (at most 315576000000s)"
	}
	return ""
}

// plain writes any JSON value (Struct, Value, ListValue contents).
func (n *envoyNormalizer) plain(v any) error {
	n.depth++
	defer func() { n.depth-- }()
	if n.depth > envoyMaxDepth {
		return n.errorf("nested more than %d levels deep", envoyMaxDepth)
	}
	switch x := v.(type) {
	case nil:
		n.buf = append(n.buf, "null"...)
	case bool:
		n.buf = strconv.AppendBool(n.buf, x)
	case string:
		n.buf = jsonstring.Append(n.buf, x)
	case []any:
		n.buf = append(n.buf, '[')
		for i, e := range x {
			if i > 0 {
				n.buf = append(n.buf, ',')
			}
			n.push(i)
			err := n.plain(e)
			n.pop()
			if err != nil {
				return err
			}
		}
		n.buf = append(n.buf, ']')
	case map[string]any, map[any]any:
		m, _ := envoyObject(x)
		n.buf = append(n.buf, '{')
		for i, k := range envoySortedKeys(m) {
			if i > 0 {
				n.buf = append(n.buf, ',')
			}
			n.buf = jsonstring.Append(n.buf, k)
			n.buf = append(n.buf, ':')
			n.push(k)
			err := n.plain(m[k])
			n.pop()
			if err != nil {
				return err
			}
		}
		n.buf = append(n.buf, '}')
	default:
		f, ok := envoyFloat(x)
		if !ok {
			return n.errorf("unsupported value %s", envoyDescribe(v))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return n.errorf("%v is not a JSON number", f)
		}
		if text, ok := envoyIntegerText(x); ok {
			n.buf = append(n.buf, text...)
		} else {
			n.buf = appendEnvoyJSONFloat(n.buf, f)
		}
	}
	return nil
}

// envoyObject returns v as a map with string keys.
func envoyObject(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			out[fmt.Sprint(k)] = x
		}
		return out, true
	}
	return nil, false
}

func envoySortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func envoyAppendPath(path []any, seg any) []any {
	out := make([]any, len(path), len(path)+1)
	copy(out, path)
	return append(out, seg)
}

// envoyDescribe names the type of a decoded value for messages.
func envoyDescribe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "an object"
	}
	if text, ok := envoyIntegerText(v); ok {
		return text
	}
	if f, ok := envoyFloat(v); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprintf("%T", v)
}

// envoyBool accepts booleans and the strings Envoy's parser takes for them.
func envoyBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true", "t", "yes", "y", "1", "on":
			return true, true
		case "false", "f", "no", "n", "0", "off":
			return false, true
		}
	}
	return false, false
}

// envoyString accepts strings, and numbers and booleans as their text: YAML
// makes `value: 1` a number where the field is a string.
func envoyString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	}
	if text, ok := envoyIntegerText(v); ok {
		return text, true
	}
	if f, ok := envoyFloat(v); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64), true
	}
	return "", false
}

// envoyIntegerText returns v, an integer, an integral float or a string holding
// an integer, as decimal text.
func envoyIntegerText(v any) (string, bool) {
	switch x := v.(type) {
	case int:
		return strconv.FormatInt(int64(x), 10), true
	case int8:
		return strconv.FormatInt(int64(x), 10), true
	case int16:
		return strconv.FormatInt(int64(x), 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint:
		return strconv.FormatUint(uint64(x), 10), true
	case uint8:
		return strconv.FormatUint(uint64(x), 10), true
	case uint16:
		return strconv.FormatUint(uint64(x), 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float32:
		return envoyIntegerText(float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || x != math.Trunc(x) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return envoyIntegerText(string(x))
	case string:
		s := strings.TrimPrefix(x, "+")
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return s, true
		}
		if _, err := strconv.ParseUint(s, 10, 64); err == nil {
			return s, true
		}
		// Too big for 64 bits: still an integer, reported out of range.
		if t := strings.TrimPrefix(s, "-"); t != "" && strings.Trim(t, "0123456789") == "" {
			return s, true
		}
	}
	return "", false
}

// envoyFloat returns v, a number or a string holding one ("NaN",
// "Infinity" and "-Infinity" included), as a float64.
func envoyFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		return envoyFloat(string(x))
	case string:
		switch x {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(1), true
		case "-Infinity":
			return math.Inf(-1), true
		}
		f, err := strconv.ParseFloat(x, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

func appendEnvoyJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// decodeEnvoyBase64 decodes standard or URL-safe base64, padded or not, as
// protobuf's JSON parsers do.
func decodeEnvoyBase64(s string) ([]byte, error) {
	enc := base64.StdEncoding
	if strings.ContainsAny(s, "-_") {
		enc = base64.URLEncoding
	}
	if len(s)%4 != 0 {
		enc = enc.WithPadding(base64.NoPadding)
	}
	return enc.DecodeString(s)
}

// envoySeg is one step of a path through messages: a field (by proto and
// JSON name), a list index, or a map key.
type envoySeg struct {
	field, json string
	key         string
	isKey       bool
	index       int
	isIndex     bool
}

func envoyFieldSeg(name, json string) envoySeg { return envoySeg{field: name, json: json} }
func envoyIndexSeg(i int) envoySeg             { return envoySeg{index: i, isIndex: true} }
func envoyKeySeg(k string) envoySeg            { return envoySeg{key: k, isKey: true} }

// envoyDocPath turns a path through messages, starting at the value found at
// base in doc, into a path in doc: keys as the document writes them, and no
// index where the document gives a single value in place of a list. It stops
// at the deepest part that exists.
func envoyDocPath(doc any, base []any, segs []envoySeg) []any {
	out := slices.Clone(base)
	if out == nil {
		out = []any{}
	}
	cur := envoyValueAt(doc, base)
	for _, s := range segs {
		switch {
		case s.isIndex:
			l, ok := cur.([]any)
			if !ok {
				if s.index == 0 && cur != nil {
					continue // a single value in place of a list
				}
				return out
			}
			if s.index >= len(l) {
				return out
			}
			out = append(out, s.index)
			cur = l[s.index]
		default:
			m, ok := envoyObject(cur)
			if !ok {
				return out
			}
			keys := []string{s.key}
			if !s.isKey {
				keys = []string{s.field, s.json}
			}
			found := false
			for _, k := range keys {
				if v, ok := m[k]; ok {
					out = append(out, k)
					cur = v
					found = true
					break
				}
			}
			if !found {
				return out
			}
		}
	}
	return out
}

// envoyValueAt is the value at path in doc, or nil.
func envoyValueAt(doc any, path []any) any {
	cur := doc
	for _, seg := range path {
		if i, ok := index(seg); ok {
			l, ok := cur.([]any)
			if !ok || i < 0 || i >= len(l) {
				return cur // a single value in place of a list
			}
			cur = l[i]
			continue
		}
		m, ok := envoyObject(cur)
		if !ok {
			return nil
		}
		cur = m[fmt.Sprint(seg)]
	}
	return cur
}

// envoyAnyReach caches envoyMayHoldAny by message name.
var envoyAnyReach sync.Map

// envoyMayHoldAny says whether a message of type md is an Any or can hold
// one somewhere in its fields: the validation need not walk the others.
func envoyMayHoldAny(md protoreflect.MessageDescriptor) bool {
	if v, ok := envoyAnyReach.Load(md.FullName()); ok {
		return v.(bool)
	}
	r := envoyReachesAny(md, map[protoreflect.FullName]bool{})
	envoyAnyReach.Store(md.FullName(), r)
	return r
}

// envoyReachesAny searches the message types reachable from md through its
// fields (list elements and map entries included) for Any; seen holds the
// types already searched.
func envoyReachesAny(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	name := md.FullName()
	if name == "google.protobuf.Any" {
		return true
	}
	if v, ok := envoyAnyReach.Load(name); ok {
		return v.(bool)
	}
	if seen[name] {
		return false
	}
	seen[name] = true
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if sub := fields.Get(i).Message(); sub != nil && envoyReachesAny(sub, seen) {
			return true
		}
	}
	return false
}

// envoyWalk is what the validation walks of a message type: the fields
// whose messages may hold an Any (in declaration order, as Range visits
// them), and whether the type has extensions, which only Range finds.
type envoyWalk struct {
	toAny      []protoreflect.FieldDescriptor
	extensible bool
}

// envoyWalks caches envoyWalkOf by message descriptor.
var envoyWalks sync.Map

func envoyWalkOf(md protoreflect.MessageDescriptor) *envoyWalk {
	if w, ok := envoyWalks.Load(md); ok {
		return w.(*envoyWalk)
	}
	w := &envoyWalk{extensible: md.ExtensionRanges().Len() > 0}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); envoyFieldMayHoldAny(fd) {
			w.toAny = append(w.toAny, fd)
		}
	}
	envoyWalks.Store(md, w)
	return w
}

// envoyFieldMayHoldAny says whether a value of fd (a list element or a
// map value included) is or may hold an Any.
func envoyFieldMayHoldAny(fd protoreflect.FieldDescriptor) bool {
	sub := fd.Message()
	if fd.IsMap() {
		sub = fd.MapValue().Message()
	}
	return sub != nil && envoyMayHoldAny(sub)
}

// validate checks the protoc-gen-validate rules of msg, which was read from
// v at path, and of every message inside its Anys, as Envoy does when it
// loads a config and instantiates its extensions.
func (p *envoyParser) validate(msg proto.Message, v any, path []any) error {
	var first *EnvoyParseError
	count := 0
	report := func(at []envoySeg, reason string) {
		count++
		if first == nil {
			first = &EnvoyParseError{Path: append(slices.Clone(path), envoyDocPath(v, nil, at)...), Reason: reason}
		}
	}
	var visit func(m protoreflect.Message, at []envoySeg, validate bool)
	var visitAny func(a *anypb.Any, at []envoySeg)
	// visitAny validates the message inside a, whose fields sit beside its
	// "@type" in the document (under "value" for a well-known type).
	visitAny = func(a *anypb.Any, at []envoySeg) {
		if a.GetTypeUrl() == "" {
			return
		}
		inner, err := p.unpack(a)
		if err != nil {
			report(at, err.Error())
			return
		}
		if wktHasCustomJSON(inner.ProtoReflect().Descriptor().FullName()) {
			at = append(at, envoyFieldSeg("value", "value"))
		}
		if ia, ok := inner.(*anypb.Any); ok {
			// An Any that holds an Any: its fields are only a type URL
			// and bytes, so the message to validate is the one inside.
			visitAny(ia, at)
			return
		}
		visit(inner.ProtoReflect(), at, true)
	}
	// field walks the value of fd, a field whose message may hold an Any.
	field := func(fd protoreflect.FieldDescriptor, val protoreflect.Value, at []envoySeg) {
		seg := envoyFieldSeg(string(fd.Name()), fd.JSONName())
		step := func(sub protoreflect.Message, extra ...envoySeg) {
			// at's backing array is a stack: what a step appends is only
			// read (and copied, by report) before the next step.
			p := append(append(at, seg), extra...)
			if a, ok := sub.Interface().(*anypb.Any); ok {
				visitAny(a, p)
				return
			}
			// Validated with its parent, unless it holds an Any.
			visit(sub, p, false)
		}
		switch {
		case fd.IsList():
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				step(l.Get(i).Message(), envoyIndexSeg(i))
			}
		case fd.IsMap():
			// In key order, so the violation reported first does not
			// depend on map iteration.
			mp := val.Map()
			keys := make([]protoreflect.MapKey, 0, mp.Len())
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) })
			for _, k := range keys {
				step(mp.Get(k).Message(), envoyKeySeg(k.String()))
			}
		default:
			step(val.Message())
		}
	}
	visit = func(m protoreflect.Message, at []envoySeg, validate bool) {
		if validate {
			if val, ok := m.Interface().(interface{ ValidateAll() error }); ok {
				if err := val.ValidateAll(); err != nil {
					segs, reason := pgvViolation(err, m.Descriptor())
					report(append(slices.Clone(at), segs...), reason)
					count += pgvCountViolations(err) - 1
				}
			}
		}
		w := envoyWalkOf(m.Descriptor())
		if w.extensible {
			m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
				if envoyFieldMayHoldAny(fd) {
					field(fd, val, at)
				}
				return true
			})
			return
		}
		for _, fd := range w.toAny {
			if m.Has(fd) {
				field(fd, m.Get(fd), at)
			}
		}
	}
	if a, ok := msg.(*anypb.Any); ok {
		visitAny(a, nil)
	} else {
		visit(msg.ProtoReflect(), nil, true)
	}
	if first == nil {
		return nil
	}
	if count > 1 {
		first.Reason += fmt.Sprintf(" (and %d more)", count-1)
	}
	return first
}

// The interfaces of protoc-gen-validate's generated errors.
type (
	pgvFieldError interface {
		Field() string
		Reason() string
		Cause() error
		Key() bool
	}
	pgvMultiError interface{ AllErrors() []error }
)

func pgvCountViolations(err error) int {
	if me, ok := err.(pgvMultiError); ok {
		n := 0
		for _, e := range me.AllErrors() {
			n += pgvCountViolations(e)
		}
		return n
	}
	if fe, ok := err.(pgvFieldError); ok && fe.Cause() != nil {
		if _, nested := fe.Cause().(pgvMultiError); nested {
			return pgvCountViolations(fe.Cause())
		}
		if _, nested := fe.Cause().(pgvFieldError); nested {
			return pgvCountViolations(fe.Cause())
		}
	}
	return 1
}

// pgvViolation follows a validation error of a message of type md down to
// the first violated rule: its path through the messages and a reason that
// names the field by its proto name.
func pgvViolation(err error, md protoreflect.MessageDescriptor) ([]envoySeg, string) {
	var segs []envoySeg
	for {
		if me, ok := err.(pgvMultiError); ok {
			all := me.AllErrors()
			if len(all) == 0 {
				return segs, "invalid " + string(md.FullName())
			}
			err = all[0]
			continue
		}
		fe, ok := err.(pgvFieldError)
		if !ok {
			return segs, err.Error()
		}
		name, bracket, hasBracket := strings.Cut(fe.Field(), "[")
		bracket = strings.TrimSuffix(bracket, "]")
		fd := pgvField(md, name)
		if fd == nil {
			// A oneof (or a field this version does not know): the path
			// stays at the message.
			what := string(md.FullName()) + "." + envoySnakeCase(name)
			if od := pgvOneof(md, name); od != nil {
				what = string(md.FullName()) + "." + string(od.Name())
			}
			return segs, "invalid " + what + ": " + pgvReason(fe)
		}
		segs = append(segs, envoyFieldSeg(string(fd.Name()), fd.JSONName()))
		what := string(md.FullName()) + "." + string(fd.Name())
		next := fd.Message()
		if hasBracket {
			if fd.IsMap() {
				segs = append(segs, envoyKeySeg(bracket))
				what += "[" + bracket + "]"
				next = fd.MapValue().Message()
			} else if i, err := strconv.Atoi(bracket); err == nil {
				segs = append(segs, envoyIndexSeg(i))
				what += "[" + bracket + "]"
			}
		}
		cause := fe.Cause()
		_, nestedMulti := cause.(pgvMultiError)
		_, nestedField := cause.(pgvFieldError)
		if next != nil && (nestedMulti || nestedField) {
			md, err = next, cause
			continue
		}
		return segs, "invalid " + what + ": " + pgvReason(fe)
	}
}

func pgvReason(fe pgvFieldError) string {
	r := fe.Reason()
	if fe.Key() {
		r = "key " + r
	}
	if c := fe.Cause(); c != nil {
		r += ": " + c.Error()
	}
	return r
}

// pgvField finds the field protoc-gen-validate calls name (its Go name).
func pgvField(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	want := envoyFoldName(name)
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if envoyFoldName(string(fields.Get(i).Name())) == want {
			return fields.Get(i)
		}
	}
	return nil
}

func pgvOneof(md protoreflect.MessageDescriptor, name string) protoreflect.OneofDescriptor {
	want := envoyFoldName(name)
	oneofs := md.Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		if envoyFoldName(string(oneofs.Get(i).Name())) == want {
			return oneofs.Get(i)
		}
	}
	return nil
}

func envoyFoldName(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }

// envoySnakeCase turns a Go field name into snake_case for messages.
func envoySnakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
