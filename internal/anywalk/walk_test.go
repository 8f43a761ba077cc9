package anywalk

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	listenerv3 "github.com/envoyproxy/go-control-plane/envoy/config/listener/v3"
	routev3 "github.com/envoyproxy/go-control-plane/envoy/config/route/v3"
	routerv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/router/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	tcpproxyv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/tcp_proxy/v3"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protodesc"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"
	"google.golang.org/protobuf/types/descriptorpb"
	"google.golang.org/protobuf/types/dynamicpb"
	"google.golang.org/protobuf/types/known/anypb"
	"google.golang.org/protobuf/types/known/durationpb"
)

// packed is m in an Any; the tests pack only messages that marshal.
func packed(m proto.Message) *anypb.Any {
	a, err := anypb.New(m)
	if err != nil {
		panic(err)
	}
	return a
}

// render writes a path as the events of recorder show it:
// "filter_chains[0].filters[0].typed_config(Type)".
func render(path []Step) string {
	var b strings.Builder
	for _, s := range path {
		switch {
		case s.Field == nil:
			b.WriteString("(" + string(s.Unpacked.Name()) + ")")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(s.Field.Name()))
			if s.Field.IsList() {
				b.WriteString("[" + strconv.Itoa(s.Index) + "]")
			} else if s.Field.IsMap() {
				b.WriteString("[" + s.Key + "]")
			}
		}
	}
	return b.String()
}

// recorder is a Walker that unpacks every Any but an empty one and
// records each call.
type recorder struct {
	Walker
	events []string
}

func newRecorder() *recorder {
	r := &recorder{}
	r.Walker = Walker{
		Unpack: func(a *anypb.Any, path []Step) proto.Message {
			r.events = append(r.events, "unpack "+render(path))
			inner, err := a.UnmarshalNew()
			if err != nil {
				return nil
			}
			return inner
		},
		Visit: func(m proto.Message, path []Step) {
			r.events = append(r.events, "visit "+render(path)+" "+string(m.ProtoReflect().Descriptor().Name()))
		},
	}
	return r
}

var holderType = sync.OnceValues(func() (protoreflect.MessageType, error) {
	fdp := &descriptorpb.FileDescriptorProto{
		Name:       proto.String("inzone/anywalk_test.proto"),
		Package:    proto.String("inzone.anywalktest"),
		Syntax:     proto.String("proto2"),
		Dependency: []string{"google/protobuf/any.proto"},
		MessageType: []*descriptorpb.DescriptorProto{{
			Name:           proto.String("Holder"),
			Field:          []*descriptorpb.FieldDescriptorProto{anyField("plain", 1, "")},
			ExtensionRange: []*descriptorpb.DescriptorProto_ExtensionRange{{Start: proto.Int32(100), End: proto.Int32(200)}},
		}},
		Extension: []*descriptorpb.FieldDescriptorProto{anyField("ext", 100, ".inzone.anywalktest.Holder")},
	}
	// More extensions, declared against their numbers' order, for the
	// walk to visit by number whatever order Range finds them in.
	for n := int32(107); n > 100; n-- {
		fdp.Extension = append(fdp.Extension, anyField(fmt.Sprintf("e%d", n), n, ".inzone.anywalktest.Holder"))
	}
	fd, err := protodesc.NewFile(fdp, protoregistry.GlobalFiles)
	if err != nil {
		return nil, err
	}
	return dynamicpb.NewMessageType(fd.Messages().Get(0)), nil
})

func anyField(name string, number int32, extendee string) *descriptorpb.FieldDescriptorProto {
	f := &descriptorpb.FieldDescriptorProto{
		Name:     proto.String(name),
		Number:   proto.Int32(number),
		Label:    descriptorpb.FieldDescriptorProto_LABEL_OPTIONAL.Enum(),
		Type:     descriptorpb.FieldDescriptorProto_TYPE_MESSAGE.Enum(),
		TypeName: proto.String(".google.protobuf.Any"),
	}
	if extendee != "" {
		f.Extendee = proto.String(extendee)
	}
	return f
}

// holder is a message of a type with an extension range, an Any in its
// field "plain" and another in its extension "ext".
func holder(t *testing.T, plain, ext *anypb.Any) proto.Message {
	t.Helper()
	mt, err := holderType()
	if err != nil {
		t.Fatal(err)
	}
	m := mt.New()
	m.Set(mt.Descriptor().Fields().ByName("plain"), protoreflect.ValueOfMessage(plain.ProtoReflect()))
	xd := mt.Descriptor().ParentFile().Extensions().ByName("ext")
	m.Set(dynamicpb.NewExtensionType(xd).TypeDescriptor(), protoreflect.ValueOfMessage(ext.ProtoReflect()))
	return m.Interface()
}

// holderWithExtensions is holder with its extensions e101 to e107 set too,
// each to an Any of a TcpProxy.
func holderWithExtensions(t *testing.T, plain, ext *anypb.Any) proto.Message {
	t.Helper()
	m := holder(t, plain, ext).ProtoReflect()
	exts := m.Descriptor().ParentFile().Extensions()
	for n := 101; n <= 107; n++ {
		xd := exts.ByName(protoreflect.Name(fmt.Sprintf("e%d", n)))
		m.Set(dynamicpb.NewExtensionType(xd).TypeDescriptor(), protoreflect.ValueOfMessage(packed(&tcpproxyv3.TcpProxy{}).ProtoReflect()))
	}
	return m.Interface()
}

func TestWalk(t *testing.T) {
	hcm := func() *hcmv3.HttpConnectionManager {
		return &hcmv3.HttpConnectionManager{
			StatPrefix: "in",
			HttpFilters: []*hcmv3.HttpFilter{
				{Name: "a", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: packed(&routerv3.Router{})}},
				{Name: "b", ConfigType: &hcmv3.HttpFilter_TypedConfig{TypedConfig: packed(&routerv3.Router{})}},
			},
			RouteSpecifier: &hcmv3.HttpConnectionManager_RouteConfig{RouteConfig: &routev3.RouteConfiguration{
				VirtualHosts: []*routev3.VirtualHost{{Name: "v", TypedPerFilterConfig: map[string]*anypb.Any{
					"zz": packed(&routerv3.Router{}),
					"aa": packed(&routerv3.Router{}),
					"mm": packed(&routerv3.Router{}),
				}}},
			}},
		}
	}
	filter := func(a *anypb.Any) *listenerv3.Filter {
		return &listenerv3.Filter{Name: "f", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: a}}
	}
	for _, tt := range []struct {
		name string
		msg  func(t *testing.T) proto.Message
		want []string
	}{
		{
			name: "a message that cannot hold an Any is visited alone",
			msg:  func(*testing.T) proto.Message { return durationpb.New(1) },
			want: []string{"visit  Duration"},
		},
		{
			name: "list elements in order, into each unpacked message, map values in key order",
			msg: func(*testing.T) proto.Message {
				return &listenerv3.Listener{
					Name:    "l",
					Address: &corev3.Address{Address: &corev3.Address_SocketAddress{SocketAddress: &corev3.SocketAddress{Address: "0.0.0.0"}}},
					FilterChains: []*listenerv3.FilterChain{
						{Filters: []*listenerv3.Filter{filter(packed(hcm()))}},
						{Filters: []*listenerv3.Filter{{Name: "none"}, filter(packed(&tcpproxyv3.TcpProxy{StatPrefix: "t"}))}},
					},
				}
			},
			want: []string{
				"visit  Listener",
				"unpack filter_chains[0].filters[0].typed_config",
				"visit filter_chains[0].filters[0].typed_config(HttpConnectionManager) HttpConnectionManager",
				"unpack filter_chains[0].filters[0].typed_config(HttpConnectionManager).route_config.virtual_hosts[0].typed_per_filter_config[aa]",
				"visit filter_chains[0].filters[0].typed_config(HttpConnectionManager).route_config.virtual_hosts[0].typed_per_filter_config[aa](Router) Router",
				"unpack filter_chains[0].filters[0].typed_config(HttpConnectionManager).route_config.virtual_hosts[0].typed_per_filter_config[mm]",
				"visit filter_chains[0].filters[0].typed_config(HttpConnectionManager).route_config.virtual_hosts[0].typed_per_filter_config[mm](Router) Router",
				"unpack filter_chains[0].filters[0].typed_config(HttpConnectionManager).route_config.virtual_hosts[0].typed_per_filter_config[zz]",
				"visit filter_chains[0].filters[0].typed_config(HttpConnectionManager).route_config.virtual_hosts[0].typed_per_filter_config[zz](Router) Router",
				"unpack filter_chains[0].filters[0].typed_config(HttpConnectionManager).http_filters[0].typed_config",
				"visit filter_chains[0].filters[0].typed_config(HttpConnectionManager).http_filters[0].typed_config(Router) Router",
				"unpack filter_chains[0].filters[0].typed_config(HttpConnectionManager).http_filters[1].typed_config",
				"visit filter_chains[0].filters[0].typed_config(HttpConnectionManager).http_filters[1].typed_config(Router) Router",
				"unpack filter_chains[1].filters[1].typed_config",
				"visit filter_chains[1].filters[1].typed_config(TcpProxy) TcpProxy",
			},
		},
		{
			name: "an Any in an Any is unpacked in turn",
			msg: func(*testing.T) proto.Message {
				return filter(packed(packed(&tcpproxyv3.TcpProxy{})))
			},
			want: []string{
				"visit  Filter",
				"unpack typed_config",
				"visit typed_config(Any) Any",
				"unpack typed_config(Any)",
				"visit typed_config(Any)(TcpProxy) TcpProxy",
			},
		},
		{
			name: "an Any Unpack refuses is not gone into",
			msg: func(*testing.T) proto.Message {
				return &listenerv3.Listener{FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{
					filter(&anypb.Any{}),
					filter(&anypb.Any{TypeUrl: "type.googleapis.com/inzone.NotLinked", Value: []byte("\x0a\x01x")}),
					filter(packed(&tcpproxyv3.TcpProxy{})),
				}}}}
			},
			want: []string{
				"visit  Listener",
				"unpack filter_chains[0].filters[0].typed_config",
				"unpack filter_chains[0].filters[1].typed_config",
				"unpack filter_chains[0].filters[2].typed_config",
				"visit filter_chains[0].filters[2].typed_config(TcpProxy) TcpProxy",
			},
		},
		{
			name: "a root that is an Any is unpacked",
			msg:  func(*testing.T) proto.Message { return packed(&tcpproxyv3.TcpProxy{}) },
			want: []string{"visit  Any", "unpack ", "visit (TcpProxy) TcpProxy"},
		},
		{
			name: "an extension, found only by Range, is walked with the fields",
			msg: func(t *testing.T) proto.Message {
				return holder(t, packed(&tcpproxyv3.TcpProxy{}), packed(&routerv3.Router{}))
			},
			want: []string{
				"visit  Holder",
				"unpack plain",
				"visit plain(TcpProxy) TcpProxy",
				"unpack ext",
				"visit ext(Router) Router",
			},
		},
		{
			// Range finds extensions in an order that changes from run
			// to run (a map's, in dynamicpb): eight of them come in that
			// order almost never by chance.
			name: "extensions are walked after the fields, by field number",
			msg: func(t *testing.T) proto.Message {
				return holderWithExtensions(t, packed(&tcpproxyv3.TcpProxy{}), packed(&routerv3.Router{}))
			},
			want: []string{
				"visit  Holder",
				"unpack plain",
				"visit plain(TcpProxy) TcpProxy",
				"unpack ext",
				"visit ext(Router) Router",
				"unpack e101", "visit e101(TcpProxy) TcpProxy",
				"unpack e102", "visit e102(TcpProxy) TcpProxy",
				"unpack e103", "visit e103(TcpProxy) TcpProxy",
				"unpack e104", "visit e104(TcpProxy) TcpProxy",
				"unpack e105", "visit e105(TcpProxy) TcpProxy",
				"unpack e106", "visit e106(TcpProxy) TcpProxy",
				"unpack e107", "visit e107(TcpProxy) TcpProxy",
			},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := newRecorder()
			r.Walk(tt.msg(t))
			if !slices.Equal(r.events, tt.want) {
				t.Errorf("events:\n%s\nwant:\n%s", strings.Join(r.events, "\n"), strings.Join(tt.want, "\n"))
			}
		})
	}
}

// TestWalkReusesItsStack: one Walker over a deep message, then a shallow
// one, then the deep one again, sees what fresh Walkers see: the stack it
// keeps leaves nothing of one walk's path in the next.
func TestWalkReusesItsStack(t *testing.T) {
	deep := &listenerv3.Listener{FilterChains: []*listenerv3.FilterChain{{Filters: []*listenerv3.Filter{
		{Name: "f", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: packed(packed(packed(&tcpproxyv3.TcpProxy{})))}},
	}}}}
	shallow := &listenerv3.Filter{Name: "g", ConfigType: &listenerv3.Filter_TypedConfig{TypedConfig: packed(&routerv3.Router{})}}
	fresh := func(m proto.Message) []string {
		r := newRecorder()
		r.Walk(m)
		return r.events
	}
	r := newRecorder()
	var want []string
	for _, m := range []proto.Message{deep, shallow, deep} {
		r.Walk(m)
		want = append(want, fresh(m)...)
	}
	if !slices.Equal(r.events, want) {
		t.Errorf("events:\n%s\nwant:\n%s", strings.Join(r.events, "\n"), strings.Join(want, "\n"))
	}
}
