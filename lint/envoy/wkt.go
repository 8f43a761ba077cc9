package envoy

import (
	"google.golang.org/protobuf/reflect/protoreflect"
)

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
