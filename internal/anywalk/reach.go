package anywalk

import (
	"sync"

	"google.golang.org/protobuf/reflect/protoreflect"
)

// anyName is google.protobuf.Any's full name.
const anyName protoreflect.FullName = "google.protobuf.Any"

// walkOf is what the walk goes down of a message type: the fields that
// may hold an Any, in declaration order, and whether the type has
// extension ranges, whose fields only Range finds.
type walkOf struct {
	fields     []protoreflect.FieldDescriptor
	extensible bool
}

// walks caches fieldsOf by message descriptor, and reach caches MayHoldAny:
// the types are those linked into the binary, so both are bounded by them.
var walks, reach sync.Map // protoreflect.MessageDescriptor -> *walkOf, bool

// fieldsOf is what the walk goes down of md.
func fieldsOf(md protoreflect.MessageDescriptor) *walkOf {
	if w, ok := walks.Load(md); ok {
		return w.(*walkOf)
	}
	w := &walkOf{extensible: md.ExtensionRanges().Len() > 0}
	fields := md.Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); FieldMayHoldAny(fd) {
			w.fields = append(w.fields, fd)
		}
	}
	walks.Store(md, w)
	return w
}

// FieldMayHoldAny says whether a value of fd (a list element, a map value)
// is an Any or a message from which one is reachable through its fields.
func FieldMayHoldAny(fd protoreflect.FieldDescriptor) bool {
	md := fd.Message()
	if fd.IsMap() {
		md = fd.MapValue().Message()
	}
	return md != nil && MayHoldAny(md)
}

// MayHoldAny says whether a message of type md is an Any or can hold one
// somewhere in its fields (list elements and map values included).
func MayHoldAny(md protoreflect.MessageDescriptor) bool {
	if r, ok := reach.Load(md); ok {
		return r.(bool)
	}
	r := reachesAny(md, map[protoreflect.FullName]bool{})
	reach.Store(md, r)
	return r
}

// reachesAny searches the message types reachable from md through its
// fields for Any; seen holds those already searched, so recursive types
// end. Only a whole search's answer is cached (by MayHoldAny): one cut
// short by seen may say no for a type that does reach an Any.
func reachesAny(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	name := md.FullName()
	if name == anyName {
		return true
	}
	if r, ok := reach.Load(md); ok {
		return r.(bool)
	}
	if seen[name] {
		return false
	}
	seen[name] = true
	fields := md.Fields()
	for i := range fields.Len() {
		// A map field's message is its entry, whose value field leads on.
		if sub := fields.Get(i).Message(); sub != nil && reachesAny(sub, seen) {
			return true
		}
	}
	return false
}
