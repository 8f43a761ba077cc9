package envoy

import (
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	// Every message of Envoy's API, so that any typed_config resolves.
	_ "github.com/inzone-io/inzone/lint/envoy/envoytypes"
)

// resolver resolves "@type" like protoregistry.GlobalTypes, which
// envoytypes fills with all of Envoy's API, and also resolves the v2 (and
// v2alpha...) names that old configs and config dumps carry to the v3
// message that replaced them, as recorded in the v3 message's
// udpa.annotations.versioning option. Anything else is unknown, as it is to
// Envoy.
type resolver struct{}

func (resolver) FindMessageByName(name protoreflect.FullName) (protoreflect.MessageType, error) {
	mt, err := protoregistry.GlobalTypes.FindMessageByName(name)
	if err == nil {
		return mt, nil
	}
	if up, ok := upgradedType(name); ok {
		return protoregistry.GlobalTypes.FindMessageByName(up)
	}
	return nil, err
}

func (r resolver) FindMessageByURL(url string) (protoreflect.MessageType, error) {
	return r.FindMessageByName(protoreflect.FullName(typeName(url)))
}

func (resolver) FindExtensionByName(field protoreflect.FullName) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByName(field)
}

func (resolver) FindExtensionByNumber(message protoreflect.FullName, field protoreflect.FieldNumber) (protoreflect.ExtensionType, error) {
	return protoregistry.GlobalTypes.FindExtensionByNumber(message, field)
}

// successors maps the previous_message_type of each registered message
// (its udpa.annotations.versioning option) to that message:
// envoy.api.v2.Cluster to envoy.config.cluster.v3.Cluster. Built on first use
// from successorPairs, which hack/gen-envoy-successors generates from
// envoytypes.Successors (computing it walks every descriptor's options,
// some 16 ms); TestSuccessorsGenerated keeps the two equal.
var successors = sync.OnceValue(func() map[protoreflect.FullName]protoreflect.FullName {
	next := make(map[protoreflect.FullName]protoreflect.FullName, len(successorPairs))
	for _, p := range successorPairs {
		next[protoreflect.FullName(p[0])] = protoreflect.FullName(p[1])
	}
	return next
})

// upgradedType is the newest registered successor of name, a type
// that is not registered itself.
func upgradedType(name protoreflect.FullName) (protoreflect.FullName, bool) {
	next := successors()
	found := protoreflect.FullName("")
	for i := 0; i < 8; i++ {
		n, ok := next[name]
		if !ok {
			break
		}
		name = n
		if _, err := protoregistry.GlobalTypes.FindMessageByName(name); err == nil {
			found = name
		}
	}
	return found, found != ""
}

// upgrade returns msg as a message of type target, converting an older
// API version of it (envoy.api.v2.Cluster for envoy.config.cluster.v3.Cluster)
// through the wire format, which keeps field numbers across versions, as
// Envoy's own version converter did. ok is false when msg is not target nor
// one of its predecessors.
func upgrade[T proto.Message](msg proto.Message) (T, bool) {
	var zero T
	if t, ok := msg.(T); ok {
		return t, true
	}
	target := zero.ProtoReflect().Descriptor().FullName()
	name := msg.ProtoReflect().Descriptor().FullName()
	next := successors()
	for i := 0; i < 8 && name != target; i++ {
		n, ok := next[name]
		if !ok {
			return zero, false
		}
		name = n
	}
	if name != target {
		return zero, false
	}
	b, err := proto.Marshal(msg)
	if err != nil {
		return zero, false
	}
	out := zero.ProtoReflect().New().Interface()
	if err := proto.Unmarshal(b, out); err != nil {
		return zero, false
	}
	t, ok := out.(T)
	return t, ok
}
