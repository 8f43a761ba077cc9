// Package yamldoc reads a YAML stream's documents into go.yaml.in/yaml/v3
// node trees, fast for the plain block YAML most manifests are written in.
//
// The stream is split into documents at their "---" and "..." lines, as
// the YAML spec delimits them, and each document is read on its own:
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
// gives one. The package does no I/O.
package yamldoc
