// Package envoy reads Envoy configs for the lint policies: it tells an
// Envoy config from other YAML and JSON documents (Detect), parses it with
// Envoy's own API types the way Envoy's loader does, protoc-gen-validate
// rules included (Parse), keeps the clusters that parse when the config as
// a whole does not (Salvage), and renders the result as the policies'
// input (Input):
//
//	{
//	  "apiVersion": "inzone.io/v1alpha1",
//	  "kind": "EnvoyConfig",
//	  "metadata": {"name": <file or ConfigMap/key>, "namespace": <ConfigMap's>},
//	  "format": "bootstrap" | "clusters" | "config_dump",
//	  "bootstrap": <envoy.config.bootstrap.v3.Bootstrap as protojson, proto field names> | absent,
//	  "clusters": [{"path": [<path of the cluster in the document>], "cluster": <envoy.config.cluster.v3.Cluster as protojson>}, ...]
//	}
//
// Enum values are upper case (Envoy parses them case-insensitively); fields
// at their default are absent, so a cluster without "type" is STATIC.
//
// The files, one job each: detect.go (which documents are Envoy configs),
// parse.go (a document into messages), build.go (decoded values straight
// into a message, the fast way), normalize.go (decoded values into the JSON
// protojson reads, the way that names what is wrong), validate.go (the
// protoc-gen-validate rules, with paths), resolve.go (type URLs, v2 names
// included), salvage.go (the clusters of an invalid config), render.go and
// input.go (messages into the Rego input), path.go (paths in the document),
// values.go (decoded values, JSON scalars), wkt.go (protobuf's well-known types).
//
// It takes decoded documents (map[string]any, []any and scalars, as
// go.yaml.in/yaml/v3 or encoding/json give them) and never changes them. It
// does no I/O: no files, no network, no Kubernetes client. It knows nothing
// of Kubernetes objects beyond refusing to take one for an Envoy config, and
// nothing of the policies beyond the shape of their input.
//
// successors.go, the table of the v2 type names, is generated from the
// registry that package envoytypes fills: go generate ./lint/envoy.
package envoy

//go:generate go run ../../hack/gen-envoy-successors
