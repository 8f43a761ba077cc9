// Package envoytypes registers every protobuf message of Envoy's API (the
// go-control-plane envoy module) and of the cncf/xds types Envoy configs use
// (xds.type.v3.TypedStruct, udpa.type.v1.TypedStruct, matchers...), so that
// the "@type" of any typed_config resolves in protoregistry.GlobalTypes.
//
// Import it for that side effect:
//
//	import _ "github.com/inzone-io/inzone/lint/envoy/envoytypes"
//
// Successors reads the v2 -> v3 renames off the registry, for the generator
// of package envoy's table (hack/gen-envoy-successors).
//
// zz_generated.go is written by hack/gen-envoytypes.sh from the module
// versions in go.mod; rerun it after upgrading either module. It does no
// I/O.
package envoytypes

//go:generate ../../../hack/gen-envoytypes.sh
