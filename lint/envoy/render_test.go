package envoy

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	yaml "go.yaml.in/yaml/v3"
	"google.golang.org/protobuf/encoding/prototext"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"

	// For the FieldMask field of the test message; nothing else imports it.
	_ "google.golang.org/protobuf/types/known/fieldmaskpb"
)

// checkViaJSON parses doc as format straight and through protojson's
// JSON, and fails unless both give the same result or the same error.
func checkViaJSON(t testing.TB, name string, doc any, format Format) {
	t.Helper()
	got, gotErr := parseDoc(doc, format, false)
	want, wantErr := parseDoc(doc, format, true)
	if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
		t.Fatalf("%s as %s: error %v, through JSON %v", name, format, gotErr, wantErr)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("%s as %s: result differs from the one through JSON:\n%#v\nwant\n%#v", name, format, got, want)
	}
}

// corpusDocs is every Envoy config of ../shared/corpus that lint reads:
// the files under envoy/ and the values of the ConfigMaps in the plain
// manifests under k8s/ that hold one, each decoded as lint decodes a
// ConfigMap value (one YAML document).
func corpusDocs(tb testing.TB) map[string]any {
	tb.Helper()
	corpus := sharedCorpus(tb)
	docs := map[string]any{}
	for _, file := range corpusFiles(tb, corpus) {
		data, err := os.ReadFile(file)
		if err != nil {
			tb.Fatal(err)
		}
		docs[file] = decodeYAML(tb, string(data))
	}
	embedded := 0
	err := filepath.WalkDir(filepath.Join(corpus, "k8s"), func(file string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if ext := filepath.Ext(file); ext != ".yaml" && ext != ".yml" && ext != ".json" {
			return nil
		}
		data, err := os.ReadFile(file)
		if err != nil {
			return err
		}
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for i := 0; ; i++ {
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				return nil // the end, or not YAML (a Helm template): no more ConfigMaps
			}
			if m["kind"] != "ConfigMap" {
				continue
			}
			data, _ := m["data"].(map[string]any)
			for key, raw := range data {
				s, ok := raw.(string)
				if !ok || !MayHoldConfig(s) {
					continue
				}
				var doc any
				if yaml.Unmarshal([]byte(s), &doc) != nil {
					continue
				}
				if _, ok := Detect(doc); ok {
					rel, _ := filepath.Rel(corpus, file)
					docs[fmt.Sprintf("%s#%d/%s", filepath.ToSlash(rel), i, key)] = doc
					embedded++
				}
			}
		}
	})
	if err != nil {
		tb.Fatal(err)
	}
	if embedded == 0 {
		tb.Fatal("no Envoy config in the corpus's ConfigMaps")
	}
	return docs
}

// TestParseViaJSON holds Parse to the result through protojson's
// JSON on the fixtures and the corpus, in every format (the wrong ones give
// errors, which must match too).
func TestParseViaJSON(t *testing.T) {
	docs := map[string]any{}
	files, err := filepath.Glob(filepath.Join("..", "testdata", "envoy", "*"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	for _, file := range files {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		docs[file] = decodeYAML(t, string(data))
	}
	for name, doc := range corpusDocs(t) {
		docs[name] = doc
	}
	for name, doc := range docs {
		for _, format := range []Format{Bootstrap, Clusters, ConfigDump} {
			checkViaJSON(t, name, doc, format)
		}
	}
}

// renderTestFile declares a message with a field of every kind, for
// TestRenderKinds.
const renderTestFile = `
name: "inzone/rendertest.proto"
package: "inzone.rendertest"
syntax: "proto3"
dependency: ["google/protobuf/any.proto", "google/protobuf/struct.proto", "google/protobuf/duration.proto",
  "google/protobuf/timestamp.proto", "google/protobuf/field_mask.proto", "google/protobuf/wrappers.proto"]
enum_type { name: "Color" value { name: "RED" number: 0 } value { name: "GREEN" number: 1 } }
message_type {
  name: "All"
  field { name: "b" number: 1 label: LABEL_OPTIONAL type: TYPE_BOOL }
  field { name: "i32" number: 2 label: LABEL_OPTIONAL type: TYPE_INT32 }
  field { name: "s32" number: 3 label: LABEL_OPTIONAL type: TYPE_SINT32 }
  field { name: "sf32" number: 4 label: LABEL_OPTIONAL type: TYPE_SFIXED32 }
  field { name: "u32" number: 5 label: LABEL_OPTIONAL type: TYPE_UINT32 }
  field { name: "fx32" number: 6 label: LABEL_OPTIONAL type: TYPE_FIXED32 }
  field { name: "i64" number: 7 label: LABEL_OPTIONAL type: TYPE_INT64 }
  field { name: "s64" number: 8 label: LABEL_OPTIONAL type: TYPE_SINT64 }
  field { name: "sf64" number: 9 label: LABEL_OPTIONAL type: TYPE_SFIXED64 }
  field { name: "u64" number: 10 label: LABEL_OPTIONAL type: TYPE_UINT64 }
  field { name: "fx64" number: 11 label: LABEL_OPTIONAL type: TYPE_FIXED64 }
  field { name: "f" number: 12 label: LABEL_OPTIONAL type: TYPE_FLOAT }
  field { name: "d" number: 13 label: LABEL_OPTIONAL type: TYPE_DOUBLE }
  field { name: "s" number: 14 label: LABEL_OPTIONAL type: TYPE_STRING }
  field { name: "by" number: 15 label: LABEL_OPTIONAL type: TYPE_BYTES }
  field { name: "color" number: 16 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".inzone.rendertest.Color" }
  field { name: "sub" number: 17 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".inzone.rendertest.All" json_name: "subMessage" }
  field { name: "rep_i32" number: 18 label: LABEL_REPEATED type: TYPE_INT32 }
  field { name: "rep_sub" number: 19 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".inzone.rendertest.All" }
  field { name: "by_int" number: 20 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".inzone.rendertest.All.ByIntEntry" }
  field { name: "by_bool" number: 21 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".inzone.rendertest.All.ByBoolEntry" }
  field { name: "by_string" number: 22 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".inzone.rendertest.All.ByStringEntry" }
  field { name: "any" number: 23 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Any" }
  field { name: "st" number: 24 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Struct" }
  field { name: "val" number: 25 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Value" }
  field { name: "lv" number: 26 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.ListValue" }
  field { name: "dur" number: 27 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Duration" }
  field { name: "ts" number: 28 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Timestamp" }
  field { name: "fm" number: 29 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.FieldMask" }
  field { name: "w_i64" number: 30 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.Int64Value" }
  field { name: "w_f" number: 31 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.FloatValue" }
  field { name: "w_by" number: 32 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".google.protobuf.BytesValue" }
  field { name: "nv" number: 33 label: LABEL_OPTIONAL type: TYPE_ENUM type_name: ".google.protobuf.NullValue" }
  field { name: "o_s" number: 34 label: LABEL_OPTIONAL type: TYPE_STRING oneof_index: 0 }
  field { name: "o_sub" number: 35 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".inzone.rendertest.All" oneof_index: 0 }
  field { name: "opt_i32" number: 36 label: LABEL_OPTIONAL type: TYPE_INT32 oneof_index: 1 proto3_optional: true }
  field { name: "rep_any" number: 37 label: LABEL_REPEATED type: TYPE_MESSAGE type_name: ".google.protobuf.Any" }
  nested_type { name: "ByIntEntry" options { map_entry: true }
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_SINT64 }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_STRING } }
  nested_type { name: "ByBoolEntry" options { map_entry: true }
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_BOOL }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_MESSAGE type_name: ".inzone.rendertest.All" } }
  nested_type { name: "ByStringEntry" options { map_entry: true }
    field { name: "key" number: 1 label: LABEL_OPTIONAL type: TYPE_STRING }
    field { name: "value" number: 2 label: LABEL_OPTIONAL type: TYPE_DOUBLE } }
  oneof_decl { name: "o" }
  oneof_decl { name: "_opt_i32" }
}
`

func renderTestType(t *testing.T) protoreflect.MessageDescriptor {
	t.Helper()
	fdp := &descriptorpb.FileDescriptorProto{}
	if err := prototext.Unmarshal([]byte(renderTestFile), fdp); err != nil {
		t.Fatal(err)
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		t.Fatal(err)
	}
	return fd.Messages().ByName("All")
}

// TestRenderKinds holds renderMessage to the protojson rendering on
// every kind of field and well-known type, values protojson rejects
// included, and checks that the renderer builds the value itself (rather
// than taking the JSON way) wherever it is meant to.
func TestRenderKinds(t *testing.T) {
	md := renderTestType(t)
	tests := []struct {
		name   string
		text   string
		set    func(m *dynamicpb.Message) // after text, for what text cannot say
		direct bool                       // rendered without the JSON way
	}{
		{name: "empty", direct: true},
		{name: "scalars", direct: true, text: `b: true i32: -5 s32: -7 sf32: -2147483648 u32: 4294967295 fx32: 9
			i64: -9007199254740993 s64: 9223372036854775807 sf64: -1 u64: 18446744073709551615 fx64: 1
			s: "h\u00e9llo \u2028 <>&\"\\\n" by: "\x00\xff\xfe" color: GREEN`},
		{name: "float32 values", direct: true, text: `f: 0.1 d: 0.1`},
		{name: "float32 extremes", direct: true, text: `f: 3.4028235e38 d: 1e300`},
		{name: "small and large floats", direct: true, text: `f: 1e-7 d: 1e21`},
		{name: "negative zero", direct: true, text: `d: -0`},
		{name: "special floats", direct: true, text: `f: nan d: -inf`},
		{name: "infinity", direct: true, text: `f: inf`},
		{name: "unknown enum number", direct: true, text: `color: 7`},
		{name: "null value enum", direct: true, text: `nv: NULL_VALUE`},
		{name: "lists", direct: true, text: `rep_i32: [1, -2, 3] rep_sub { b: true } rep_sub {} rep_sub { sub { i64: 5 } }`},
		{name: "maps", direct: true, text: `by_int { key: -3 value: "x" } by_int { key: 0 value: "" }
			by_bool { key: true value { i32: 1 } } by_bool { key: false value {} }
			by_string { key: "a" value: 1.5 } by_string { key: "" value: 0 }`},
		{name: "nested and oneof", direct: true, text: `sub { sub { s: "deep" } o_s: "x" } o_sub { opt_i32: 0 }`},
		{name: "proto3 optional zero", direct: true, text: `opt_i32: 0`},
		{name: "struct", direct: true, text: `st { fields { key: "a" value { null_value: NULL_VALUE } }
			fields { key: "b" value { list_value { values { number_value: 1 } values { string_value: "x" } values { bool_value: false } values { struct_value {} } } } } }`},
		{name: "empty struct and list", direct: true, text: `st {} lv {} val { list_value {} }`},
		{name: "value kinds", direct: true, text: `val { struct_value { fields { key: "k" value { number_value: -0.5 } } } }`},
		{name: "durations", direct: true, text: `dur { seconds: -1 nanos: -500000000 } rep_any { [type.googleapis.com/google.protobuf.Duration] { nanos: 1000 } }
			rep_any { [type.googleapis.com/google.protobuf.Duration] { seconds: 315576000000 } } rep_any { [type.googleapis.com/google.protobuf.Duration] { nanos: 1 } }
			rep_any { [type.googleapis.com/google.protobuf.Duration] {} }`},
		{name: "timestamps", direct: true, text: `ts { seconds: 1600000000 nanos: 5000000 } rep_any { [type.googleapis.com/google.protobuf.Timestamp] { seconds: -62135596800 } }
			rep_any { [type.googleapis.com/google.protobuf.Timestamp] { seconds: 253402300799 nanos: 999999999 } }`},
		{name: "wrappers", direct: true, text: `w_i64 { value: -4 } w_f { value: 0.3 } w_by { value: "\x01" }`},
		{name: "anys of well-known types", direct: true, text: `rep_any { [type.googleapis.com/google.protobuf.FloatValue] { value: 0.1 } }
			rep_any { [type.googleapis.com/google.protobuf.Empty] {} }
			rep_any { [type.googleapis.com/google.protobuf.Struct] { fields { key: "a" value { bool_value: true } } } }
			rep_any { [type.googleapis.com/google.protobuf.Value] { null_value: NULL_VALUE } }
			rep_any { [type.googleapis.com/google.protobuf.ListValue] {} }
			rep_any { [type.googleapis.com/google.protobuf.UInt64Value] { value: 18446744073709551615 } }
			rep_any { [type.googleapis.com/google.protobuf.StringValue] {} }`},
		{name: "any of an any of a cluster", direct: true, text: `any { [type.googleapis.com/google.protobuf.Any] {
			[type.googleapis.com/envoy.config.cluster.v3.Cluster] { name: "a" type: STRICT_DNS connect_timeout { seconds: 1 }
			typed_extension_protocol_options { key: "x" value { [type.googleapis.com/envoy.extensions.upstreams.http.v3.HttpProtocolOptions] {} } } } } }`},
		{name: "any of a v2 type", direct: true, set: func(m *dynamicpb.Message) {
			m.Set(md.Fields().ByName("any"), protoreflect.ValueOfMessage((&anypb.Any{TypeUrl: "type.googleapis.com/envoy.api.v2.Cluster", Value: []byte("\x0a\x01a")}).ProtoReflect()))
		}},
		{name: "empty any", direct: true, text: `any {}`},
		{name: "field mask", text: `fm { paths: "a.b_c" paths: "d" }`},
		{name: "irreversible field mask", text: `fm { paths: "a__b" }`},
		{name: "value without a kind", text: `val {}`},
		{name: "NaN value", text: `val { number_value: nan }`},
		{name: "infinite value in a struct", text: `st { fields { key: "a" value { number_value: -inf } } }`},
		{name: "duration out of range", text: `dur { seconds: 315576000001 }`},
		{name: "duration signs differ", text: `dur { seconds: 1 nanos: -1 }`},
		{name: "timestamp out of range", text: `ts { seconds: -62135596801 }`},
		{name: "timestamp nanos out of range", text: `ts { nanos: -1 }`},
		{name: "any without type", text: `any { value: "x" }`},
		{name: "any of an unknown type", text: `any { type_url: "type.googleapis.com/unknown.Type" value: "x" }`},
		{name: "any that does not decode", text: `any { type_url: "type.googleapis.com/google.protobuf.Duration" value: "\xff" }`},
		{name: "invalid UTF-8 in a string", set: func(m *dynamicpb.Message) {
			m.Set(md.Fields().ByName("s"), protoreflect.ValueOfString("a\xffb"))
		}},
		{name: "invalid UTF-8 in a map key", set: func(m *dynamicpb.Message) {
			m.Mutable(md.Fields().ByName("by_string")).Map().Set(protoreflect.ValueOfString("\xff").MapKey(), protoreflect.ValueOfFloat64(1))
		}},
		{name: "invalid UTF-8 in a type URL", set: func(m *dynamicpb.Message) {
			m.Set(md.Fields().ByName("any"), protoreflect.ValueOfMessage((&anypb.Any{TypeUrl: "type.googleapis.com/\xff"}).ProtoReflect()))
		}},
		{name: "nested deeper than the renderer goes", set: func(m *dynamicpb.Message) {
			sub := md.Fields().ByName("sub")
			cur := protoreflect.Message(m)
			for range renderMaxDepth + 10 {
				cur = cur.Mutable(sub).Message()
			}
			cur.Set(md.Fields().ByName("s"), protoreflect.ValueOfString("bottom"))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := dynamicpb.NewMessage(md)
			if err := (prototext.UnmarshalOptions{Resolver: resolver{}}).Unmarshal([]byte(tt.text), m); err != nil {
				t.Fatal(err)
			}
			if tt.set != nil {
				tt.set(m)
			}
			r := renderer{}
			_, direct := r.message(m)
			if direct != tt.direct {
				t.Errorf("rendered directly: %v, want %v", direct, tt.direct)
			}
			got, gotErr := renderMessage(m, nil)
			want, wantErr := renderJSON(m)
			if (gotErr == nil) != (wantErr == nil) || (gotErr != nil && gotErr.Error() != wantErr.Error()) {
				t.Fatalf("error %v, protojson rendering's %v", gotErr, wantErr)
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("rendering differs from protojson's:\n%#v\nwant\n%#v", got, want)
			}
			if strings.HasPrefix(tt.name, "invalid") && gotErr == nil {
				t.Fatal("protojson accepted it: the case tests nothing")
			}
		})
	}
}
