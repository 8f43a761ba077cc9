// Package yamldoc reads Kubernetes manifests, and the Envoy configs in
// them, as `inzone lint` and `inzone inject` both need them: a YAML
// stream's documents as go.yaml.in/yaml/v3 node trees with their
// positions, fast for the plain block YAML most manifests are written in,
// and a node's value as the Kubernetes API server reads it.
//
// The stream is split into documents at their "---" and "..." lines, as
// the YAML spec delimits them (Split), and each document is read on its
// own (Each):
//
//   - a document whose kind the caller skips is, when its lines are in a
//     subset of YAML whose parse is known without a parser (scan.go),
//     read no further than its kind: its root holds "kind" alone;
//   - any other document in that subset has its nodes built straight from
//     its lines (build.go), the nodes the library would build;
//   - everything else is parsed by the library, errors and all.
//
// Tests and fuzzers hold both fast paths to the library: the same trees
// (comments aside), positions and kinds, and an error wherever the library
// gives one.
//
// Build (value.go) is the one conversion of nodes to values, with the API
// server's rules (YAML 1.1 booleans, int64 integers), held to
// sigs.k8s.io/yaml and apimachinery by tests and a fuzzer; a Builder makes
// the values: Value's plain Go values, or lint's Rego values.
//
// The package does no I/O.
package yamldoc
