// Package anywalk visits a protobuf message and every message packed in a
// google.protobuf.Any inside it, at any depth, with the path to each: the
// walk behind the validation Envoy does when it loads a config, which
// protoc-gen-validate's ValidateAll does not do inside an Any, shared by
// `inzone lint` (lint/envoy) and inzone-xds (xds/translate). Which fields of
// a message type can lead to an Any is worked out once per type (reach.go),
// so the walk goes down only those. What to do with an Any and with each
// message found (unpack, validate, report) is the caller's. No I/O.
package anywalk
