package envoy

import (
	"strings"

	adminv3 "github.com/envoyproxy/go-control-plane/envoy/admin/v3"
	bootstrapv3 "github.com/envoyproxy/go-control-plane/envoy/config/bootstrap/v3"
	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/reflect/protoreflect"
)

// Format is the kind of Envoy config a document holds.
type Format string

// Envoy config formats.
const (
	// Bootstrap is a bootstrap: static_resources, dynamic_resources,
	// admin, node, cluster_manager, layered_runtime...
	Bootstrap Format = "bootstrap"
	// Clusters is an xDS DiscoveryResponse ("resources" with "@type"),
	// a list of clusters (plain, typed, or the {cluster: ...} entries of a
	// config dump), or a single typed resource. Resources other than
	// clusters (listeners, secrets...) are parsed and validated but yield no
	// cluster.
	Clusters Format = "clusters"
	// ConfigDump is the output of the admin /config_dump endpoint.
	ConfigDump Format = "config_dump"
)

// Descriptors the detection and the parser look fields up in.
var (
	bootstrapDesc      = (&bootstrapv3.Bootstrap{}).ProtoReflect().Descriptor()
	clusterDesc        = (&clusterv3.Cluster{}).ProtoReflect().Descriptor()
	dynamicClusterDesc = (&adminv3.ClustersConfigDump_DynamicCluster{}).ProtoReflect().Descriptor()
)

// Detect says whether a decoded YAML/JSON document is an Envoy config,
// and which kind. It never claims a Kubernetes object (anything with
// apiVersion and kind) and only looks at keys and "@type" strings, so it is
// cheap enough to run on every document.
func Detect(doc any) (Format, bool) {
	switch v := doc.(type) {
	case map[string]any:
		return detectMap(v)
	case map[any]any: // yaml.v3's map when a key is not a plain string
		m, _ := asObject(v)
		return detectMap(m)
	case []any:
		if len(v) == 0 {
			return "", false
		}
		for _, it := range v {
			m, ok := asObject(it)
			if !ok || !isListItem(m) {
				return "", false
			}
		}
		return Clusters, true
	}
	return "", false
}

func detectMap(m map[string]any) (Format, bool) {
	if isKubernetes(m) {
		return "", false
	}
	if configs, ok := m["configs"].([]any); ok && len(configs) > 0 {
		dump := true
		for _, c := range configs {
			cm, ok := c.(map[string]any)
			t, _ := cm["@type"].(string)
			if !ok || !strings.HasPrefix(typeName(t), "envoy.admin.") {
				dump = false
				break
			}
		}
		if dump {
			return ConfigDump, true
		}
	}
	if res, ok := m["resources"]; ok {
		switch r := res.(type) {
		case []any:
			if len(r) == 0 {
				if isEnvoyTypeURL(m["type_url"]) || isEnvoyTypeURL(m["typeUrl"]) {
					return Clusters, true
				}
				break
			}
			all := true
			for _, it := range r {
				im, ok := it.(map[string]any)
				if !ok || !isListItem(im) {
					all = false
					break
				}
			}
			if all {
				return Clusters, true
			}
		case map[string]any: // a single resource in place of the list, which Envoy accepts
			if isListItem(r) {
				return Clusters, true
			}
		}
	}
	if t, ok := m["@type"].(string); ok && isEnvoyTypeURL(t) && !strings.HasPrefix(typeName(t), "envoy.admin.") {
		return Clusters, true
	}
	if isBootstrap(m) {
		return Bootstrap, true
	}
	return "", false
}

func isKubernetes(m map[string]any) bool {
	_, a := m["apiVersion"]
	_, k := m["kind"]
	return a && k
}

// typeName is the message name of a type URL: what follows the last '/'.
func typeName(url string) string {
	if i := strings.LastIndexByte(url, '/'); i >= 0 {
		return url[i+1:]
	}
	return url
}

func isEnvoyTypeURL(v any) bool {
	s, ok := v.(string)
	return ok && strings.HasPrefix(typeName(s), "envoy.")
}

// isListItem says whether m is an item of a list of Envoy resources: a
// typed resource, a binary Any, a config dump's {cluster: ...} entry, or a
// plain cluster.
func isListItem(m map[string]any) bool {
	if isKubernetes(m) {
		return false
	}
	if t, ok := m["@type"]; ok {
		return isEnvoyTypeURL(t)
	}
	if _, ok := m["value"].(string); ok && (isEnvoyTypeURL(m["type_url"]) || isEnvoyTypeURL(m["typeUrl"])) {
		return true
	}
	if c, ok := m["cluster"].(map[string]any); ok && knownFields(dynamicClusterDesc, m) == len(m) {
		if t, ok := c["@type"]; ok {
			return isEnvoyTypeURL(t)
		}
		return looksLikeCluster(c)
	}
	return looksLikeCluster(m)
}

// Keys only a cluster is likely to have. A plain object is taken for a
// cluster when it has a name, one of these (or a "type" that is a cluster
// discovery type), and at most one key that is not a Cluster field: a typo
// still reaches the parser and is reported, while a list of {name, type}
// records of some other tool is not mistaken for clusters.
var clusterMarkers = []string{
	"cluster_type", "clusterType", "load_assignment", "loadAssignment",
	"connect_timeout", "connectTimeout", "lb_policy", "lbPolicy",
	"eds_cluster_config", "edsClusterConfig", "dns_lookup_family", "dnsLookupFamily",
}

func looksLikeCluster(m map[string]any) bool {
	if _, ok := m["name"].(string); !ok {
		return false
	}
	marker := false
	if t, ok := m["type"].(string); ok {
		values := clusterDesc.Fields().ByName("type").Enum().Values()
		for i := 0; i < values.Len() && !marker; i++ {
			marker = strings.EqualFold(string(values.Get(i).Name()), t)
		}
	}
	for _, k := range clusterMarkers {
		if marker {
			break
		}
		_, marker = m[k]
	}
	unknown := len(m) - knownFields(clusterDesc, m)
	if _, ok := m["@type"]; ok {
		unknown--
	}
	return marker && unknown <= 1
}

// knownFields counts the keys of m that name a field of md.
func knownFields(md protoreflect.MessageDescriptor, m map[string]any) int {
	n := 0
	for k := range m {
		if fieldByKey(md, k) != nil {
			n++
		}
	}
	return n
}

func fieldByKey(md protoreflect.MessageDescriptor, key string) protoreflect.FieldDescriptor {
	fields := md.Fields()
	if fd := fields.ByName(protoreflect.Name(key)); fd != nil {
		return fd
	}
	return fields.ByJSONName(key)
}

// Top-level bootstrap fields that are enough on their own; the others
// (admin, node, tracing...) are common words.
var bootstrapMarkers = []string{
	"static_resources", "staticResources", "dynamic_resources", "dynamicResources",
	"cluster_manager", "clusterManager", "layered_runtime", "layeredRuntime",
	"overload_manager", "overloadManager", "bootstrap_extensions", "bootstrapExtensions",
}

// isBootstrap: a marker key, or only Bootstrap fields with at least one
// object whose keys are all fields of that field's message ({admin: {address: ...}}).
func isBootstrap(m map[string]any) bool {
	for _, k := range bootstrapMarkers {
		if _, ok := m[k]; ok {
			return true
		}
	}
	if len(m) == 0 {
		return false
	}
	object := false
	for k, v := range m {
		fd := fieldByKey(bootstrapDesc, k)
		if fd == nil {
			return false
		}
		sub, ok := v.(map[string]any)
		if ok && len(sub) > 0 && fd.Message() != nil && !fd.IsList() && !fd.IsMap() &&
			knownFields(fd.Message(), sub) == len(sub) {
			object = true
		}
	}
	return object
}

// MayHoldConfig is a cheap test of a text (a ConfigMap value) before it is
// parsed as YAML and given to Detect: false means it holds no Envoy config.
func MayHoldConfig(text string) bool {
	return strings.Contains(text, "clusters") || strings.Contains(text, "static_resources") ||
		strings.Contains(text, "staticResources") || strings.Contains(text, "dynamic_resources") ||
		strings.Contains(text, "envoy.config")
}
