package anywalk

import (
	"slices"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// Step is one step on the path from the walk's root to a message in it: a
// field, with its list index or map key, or, when Field is nil, the message
// unpacked from the Any the steps before lead to.
type Step struct {
	Field    protoreflect.FieldDescriptor
	Index    int    // the list index; -1 when Field is not a list
	Key      string // the map key, when Field is a map
	Unpacked protoreflect.FullName
}

// Walker visits a message and every message packed in an Any inside it:
// in fields (in declaration order, then extensions by field number),
// list elements (in order) and map values (in key order), so the visits
// come in the same order every time, and in the messages
// unpacked from Anys, at any depth. Only the fields whose types can hold an
// Any are walked. A path passed to Unpack or Visit is valid only during
// the call: the walk reuses its stack, from one Walk to the next too.
type Walker struct {
	// Unpack returns the message packed in a, found at path, for the walk
	// to visit and go into (an Any it returns is unpacked in turn); nil
	// to go no further into a, having reported why or skipping it.
	Unpack func(a *anypb.Any, path []Step) proto.Message
	// Visit is called on the root (with an empty path) and on every
	// message Unpack returns, before the walk goes into it.
	Visit func(m proto.Message, path []Step)

	stack []Step
}

// Walk visits m and every message packed in an Any inside it.
func (w *Walker) Walk(m proto.Message) {
	w.Visit(m, w.stack[:0])
	w.walk(m.ProtoReflect(), w.stack[:0])
}

func (w *Walker) walk(m protoreflect.Message, path []Step) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner := w.Unpack(a, path)
		if inner == nil {
			return
		}
		path = w.push(path, Step{Unpacked: inner.ProtoReflect().Descriptor().FullName(), Index: -1})
		w.Visit(inner, path)
		w.walk(inner.ProtoReflect(), path)
		return
	}
	f := fieldsOf(m.Descriptor())
	for _, fd := range f.fields {
		if m.Has(fd) {
			w.field(fd, m.Get(fd), path)
		}
	}
	if !f.extensible {
		return
	}
	// Extensions are found only by Range, whose order is not stable
	// (dynamicpb ranges over a map, generated messages over an order
	// protobuf-go may shuffle), so they are visited by field number.
	var exts []extension
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.IsExtension() && FieldMayHoldAny(fd) {
			exts = append(exts, extension{fd, v})
		}
		return true
	})
	slices.SortFunc(exts, func(a, b extension) int { return int(a.fd.Number()) - int(b.fd.Number()) })
	for _, x := range exts {
		w.field(x.fd, x.v, path)
	}
}

// extension is an extension field set on a message, with its value.
type extension struct {
	fd protoreflect.FieldDescriptor
	v  protoreflect.Value
}

// field walks v, the value of fd, a field whose messages may hold an Any.
func (w *Walker) field(fd protoreflect.FieldDescriptor, v protoreflect.Value, path []Step) {
	switch {
	case fd.IsList():
		l := v.List()
		for i := range l.Len() {
			w.walk(l.Get(i).Message(), w.push(path, Step{Field: fd, Index: i}))
		}
	case fd.IsMap():
		mp := v.Map()
		keys := make([]protoreflect.MapKey, 0, mp.Len())
		mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			keys = append(keys, k)
			return true
		})
		slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			w.walk(mp.Get(k).Message(), w.push(path, Step{Field: fd, Key: k.String(), Index: -1}))
		}
	default:
		w.walk(v.Message(), w.push(path, Step{Field: fd, Index: -1}))
	}
}

// push appends s to path, keeping the grown stack for the walks to come.
func (w *Walker) push(path []Step, s Step) []Step {
	path = append(path, s)
	if cap(path) > cap(w.stack) {
		w.stack = path[:0]
	}
	return path
}
