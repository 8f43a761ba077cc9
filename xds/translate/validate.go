package translate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// Validate checks every resource against protoc-gen-validate's rules, the
// ones Envoy applies when it loads a resource: ValidateAll on the resource
// and on every message packed in a google.protobuf.Any inside it (typed
// configs of filters, protocol options, Anys within those), which
// ValidateAll alone does not look into. A snapshot Envoy would reject is
// never served. These are the API's declared rules only: no Envoy runs
// here, so what Envoy checks in its own code (a filter chain matched
// twice, a cluster a route names but nobody serves) is not checked.
//
// The error names at most maxReported resources, and at most maxReported
// errors in each, and counts the rest: one systematic mistake must not
// make a log line of every resource.
func (o *Output) Validate() error {
	var errs []error
	var d deepValidator
	failed := 0
	check := func(kind, name string, m proto.Message) {
		if err := d.validate(m); err != nil {
			if failed++; failed <= maxReported {
				errs = append(errs, fmt.Errorf("%s %s: %w", kind, truncate(name, 256), err))
			}
		}
	}
	for _, c := range o.Clusters {
		check("cluster", c.GetName(), c)
	}
	for _, e := range slices.Concat(o.Endpoints, o.Local) {
		check("endpoints", e.GetClusterName(), e)
	}
	for _, l := range slices.Concat(o.Listeners, o.APIListeners) {
		check("listener", l.GetName(), l)
	}
	for _, r := range o.Routes {
		check("route", r.GetName(), r)
	}
	// A scope's clusters are the full view's, checked above; its route
	// table is its own.
	for _, sc := range o.Scopes {
		check("route of "+sc.Identity, sc.Route.GetName(), sc.Route)
	}
	if failed > maxReported {
		errs = append(errs, fmt.Errorf("and %d more resources fail", failed-maxReported))
	}
	return errors.Join(errs...)
}

// maxReported bounds the errors Validate reports.
const maxReported = 10

// deepValidator runs ValidateAll on a resource and on every message
// packed in an Any anywhere in it: in fields, list elements and map values,
// and in the messages unpacked from Anys, at any depth. An Any that does
// not unpack (empty, a type not linked into this binary, bytes that do not
// parse) is an error too: Envoy could not instantiate it either. Each
// error names its path from the resource, an unpacked message's type in
// parentheses:
// "filter_chains[0].filters[0].typed_config(envoy...HttpConnectionManager)".
// Only the fields whose types can hold an Any are walked (anyFields), and
// a path is rendered only for an error, so the cost is ValidateAll's plus
// the Anys' unpacking (BenchmarkValidate).
//
// Its path is a stack reused from one resource to the next: a step appends
// to it, and what it appends is read (rendered, on an error) only before
// the next step overwrites it.
type deepValidator struct {
	path    []pathStep
	errs    []error
	dropped int // errors past maxReported
}

func (d *deepValidator) validate(m proto.Message) error {
	d.errs, d.dropped = nil, 0
	d.check(m, d.path[:0])
	d.walk(m.ProtoReflect(), d.path[:0])
	if d.dropped > 0 {
		d.errs = append(d.errs, fmt.Errorf("and %d more errors", d.dropped))
	}
	return errors.Join(d.errs...)
}

func (d *deepValidator) fail(path []pathStep, err error) {
	if len(d.errs) >= maxReported {
		d.dropped++
		return
	}
	if len(path) > 0 {
		err = fmt.Errorf("%s: %w", renderPath(path), err)
	}
	d.errs = append(d.errs, err)
}

func (d *deepValidator) check(m proto.Message, path []pathStep) {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			d.fail(path, err)
		}
	}
}

func (d *deepValidator) walk(m protoreflect.Message, path []pathStep) {
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			d.fail(path, fmt.Errorf("typed config %q does not unpack: %w", a.GetTypeUrl(), err))
			return
		}
		path = d.push(path, pathStep{unpacked: inner.ProtoReflect().Descriptor().FullName()})
		d.check(inner, path)
		d.walk(inner.ProtoReflect(), path)
		return
	}
	w := anyFields(m.Descriptor())
	if w.extensible {
		// Extensions are found only by Range.
		m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
			if mayHoldAny(fd) {
				d.field(fd, v, path)
			}
			return true
		})
		return
	}
	for _, fd := range w.fields {
		if m.Has(fd) {
			d.field(fd, m.Get(fd), path)
		}
	}
}

// field walks the value of fd, a field whose messages may hold an Any.
func (d *deepValidator) field(fd protoreflect.FieldDescriptor, v protoreflect.Value, path []pathStep) {
	switch {
	case fd.IsList():
		l := v.List()
		for i := range l.Len() {
			d.walk(l.Get(i).Message(), d.push(path, pathStep{field: fd, index: i}))
		}
	case fd.IsMap():
		// In key order, so the errors come in the same order every time.
		mp := v.Map()
		keys := make([]protoreflect.MapKey, 0, mp.Len())
		mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
			keys = append(keys, k)
			return true
		})
		slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) })
		for _, k := range keys {
			d.walk(mp.Get(k).Message(), d.push(path, pathStep{field: fd, key: k.String(), index: -1}))
		}
	default:
		d.walk(v.Message(), d.push(path, pathStep{field: fd, index: -1}))
	}
}

// push appends s to path, keeping the grown stack for the next resource.
func (d *deepValidator) push(path []pathStep, s pathStep) []pathStep {
	path = append(path, s)
	if cap(path) > cap(d.path) {
		d.path = path[:0]
	}
	return path
}

// pathStep is one step from a resource to a message in it: a field (with
// its list index or map key), or the message unpacked from an Any.
type pathStep struct {
	field    protoreflect.FieldDescriptor
	index    int // -1: not a list element
	key      string
	unpacked protoreflect.FullName
}

func renderPath(path []pathStep) string {
	var b strings.Builder
	for _, s := range path {
		switch {
		case s.field == nil:
			b.WriteString("(" + string(s.unpacked) + ")")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(s.field.Name()))
			if s.index >= 0 {
				b.WriteString("[" + strconv.Itoa(s.index) + "]")
			} else if s.field.IsMap() {
				b.WriteString("[" + s.key + "]")
			}
		}
	}
	return b.String()
}

// anyWalk is what deepValidator walks of a message type: the fields that
// may hold an Any, in declaration order, and whether the type has
// extension ranges.
type anyWalk struct {
	fields     []protoreflect.FieldDescriptor
	extensible bool
}

// anyWalks caches anyFields by message descriptor: the types are fixed at
// build time, so the cache is bounded by the linked types.
var anyWalks sync.Map // protoreflect.MessageDescriptor -> *anyWalk

// anyFields is what deepValidator walks of md.
func anyFields(md protoreflect.MessageDescriptor) *anyWalk {
	if w, ok := anyWalks.Load(md); ok {
		return w.(*anyWalk)
	}
	w := &anyWalk{extensible: md.ExtensionRanges().Len() > 0}
	fields := md.Fields()
	for i := range fields.Len() {
		if fd := fields.Get(i); mayHoldAny(fd) {
			w.fields = append(w.fields, fd)
		}
	}
	anyWalks.Store(md, w)
	return w
}

// mayHoldAny says whether a value of fd (a list element, a map value) is
// an Any or a message from which one is reachable.
func mayHoldAny(fd protoreflect.FieldDescriptor) bool {
	md := fd.Message()
	if fd.IsMap() {
		md = fd.MapValue().Message()
	}
	return md != nil && reachesAny(md, map[protoreflect.FullName]bool{})
}

// reachesAny searches the message types reachable from md through its
// fields for Any; seen holds those on the way, so recursive types end.
func reachesAny(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	name := md.FullName()
	if name == "google.protobuf.Any" {
		return true
	}
	if seen[name] {
		return false
	}
	seen[name] = true
	fields := md.Fields()
	for i := range fields.Len() {
		fd := fields.Get(i)
		sub := fd.Message()
		if fd.IsMap() {
			sub = fd.MapValue().Message()
		}
		if sub != nil && reachesAny(sub, seen) {
			return true
		}
	}
	return false
}
