package anywalk

import (
	"testing"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	rbacv3 "github.com/envoyproxy/go-control-plane/envoy/config/rbac/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/structpb"
)

func TestMayHoldAny(t *testing.T) {
	for _, tt := range []struct {
		name string
		msg  proto.Message
		want bool
	}{
		{"an Any is one", &anypb.Any{}, true},
		{"a listener holds its filters' typed configs", &listenerv3.Listener{}, true},
		{"an HCM holds its HTTP filters' typed configs", &hcmv3.HttpConnectionManager{}, true},
		{"a cluster holds Anys in a map", &clusterv3.Cluster{}, true},
		{"a Duration holds none", &durationpb.Duration{}, false},
		{"a socket address holds none", &corev3.SocketAddress{}, false},
		{"a Struct, recursive through Value and ListValue, holds none", &structpb.Struct{}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := MayHoldAny(tt.msg.ProtoReflect().Descriptor()); got != tt.want {
				t.Errorf("MayHoldAny = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestMayHoldAnyThroughACycle: a Permission's and_rules are a
// Permission.Set of Permissions, and a Permission reaches an Any only
// through a later field (matcher). Searching Permission, the Set is cut
// short by the cycle; that partial no must not be what the Set says.
func TestMayHoldAnyThroughACycle(t *testing.T) {
	perm := (&rbacv3.Permission{}).ProtoReflect().Descriptor()
	set := (&rbacv3.Permission_Set{}).ProtoReflect().Descriptor()
	if !MayHoldAny(perm) {
		t.Error("Permission: no Any")
	}
	if !MayHoldAny(set) {
		t.Error("Permission.Set, after Permission: no Any")
	}
}

func TestFieldMayHoldAny(t *testing.T) {
	cluster := (&clusterv3.Cluster{}).ProtoReflect().Descriptor().Fields()
	for _, tt := range []struct {
		field protoreflect.Name
		want  bool
	}{
		{"name", false},                            // a string
		{"connect_timeout", false},                 // a Duration
		{"typed_extension_protocol_options", true}, // a map to Any
		{"transport_socket", true},                 // a message with a typed config
		{"load_assignment", true},                  // endpoints' metadata hold typed metadata
	} {
		t.Run(string(tt.field), func(t *testing.T) {
			fd := cluster.ByName(tt.field)
			if fd == nil {
				t.Fatalf("Cluster has no field %s", tt.field)
			}
			if got := FieldMayHoldAny(fd); got != tt.want {
				t.Errorf("FieldMayHoldAny = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestFieldsOf: the walk goes down exactly the fields that may hold an
// Any, in declaration order, and knows the types with extension ranges.
func TestFieldsOf(t *testing.T) {
	md := (&listenerv3.Listener{}).ProtoReflect().Descriptor()
	w := fieldsOf(md)
	var want []protoreflect.FieldDescriptor
	for i := range md.Fields().Len() {
		if fd := md.Fields().Get(i); FieldMayHoldAny(fd) {
			want = append(want, fd)
		}
	}
	if len(w.fields) != len(want) || len(want) == md.Fields().Len() {
		t.Fatalf("fieldsOf(Listener) has %d fields, want %d of %d", len(w.fields), len(want), md.Fields().Len())
	}
	for i := range want {
		if w.fields[i] != want[i] {
			t.Errorf("field %d: %s, want %s", i, w.fields[i].Name(), want[i].Name())
		}
	}
	if w.extensible {
		t.Error("Listener: extensible")
	}
	if fieldsOf(md) != w {
		t.Error("fieldsOf(Listener) is not cached")
	}
	mt, err := holderType()
	if err != nil {
		t.Fatal(err)
	}
	if !fieldsOf(mt.Descriptor()).extensible {
		t.Error("a type with an extension range: not extensible")
	}
}
