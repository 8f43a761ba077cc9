package envoy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

var anyReach sync.Map

// mayHoldAny says whether a message of type md is an Any or can hold
// one somewhere in its fields: the validation need not walk the others.
func mayHoldAny(md protoreflect.MessageDescriptor) bool {
	if v, ok := anyReach.Load(md.FullName()); ok {
		return v.(bool)
	}
	r := reachesAny(md, map[protoreflect.FullName]bool{})
	anyReach.Store(md.FullName(), r)
	return r
}

// reachesAny searches the message types reachable from md through its
// fields (list elements and map entries included) for Any; seen holds the
// types already searched.
func reachesAny(md protoreflect.MessageDescriptor, seen map[protoreflect.FullName]bool) bool {
	name := md.FullName()
	if name == "google.protobuf.Any" {
		return true
	}
	if v, ok := anyReach.Load(name); ok {
		return v.(bool)
	}
	if seen[name] {
		return false
	}
	seen[name] = true
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if sub := fields.Get(i).Message(); sub != nil && reachesAny(sub, seen) {
			return true
		}
	}
	return false
}

// anyWalk is what the validation walks of a message type: the fields
// whose messages may hold an Any (in declaration order, as Range visits
// them), and whether the type has extensions, which only Range finds.
type anyWalk struct {
	toAny      []protoreflect.FieldDescriptor
	extensible bool
}

// anyWalks caches anyWalkOf by message descriptor.
var anyWalks sync.Map

func anyWalkOf(md protoreflect.MessageDescriptor) *anyWalk {
	if w, ok := anyWalks.Load(md); ok {
		return w.(*anyWalk)
	}
	w := &anyWalk{extensible: md.ExtensionRanges().Len() > 0}
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if fd := fields.Get(i); fieldMayHoldAny(fd) {
			w.toAny = append(w.toAny, fd)
		}
	}
	anyWalks.Store(md, w)
	return w
}

// fieldMayHoldAny says whether a value of fd (a list element or a
// map value included) is or may hold an Any.
func fieldMayHoldAny(fd protoreflect.FieldDescriptor) bool {
	sub := fd.Message()
	if fd.IsMap() {
		sub = fd.MapValue().Message()
	}
	return sub != nil && mayHoldAny(sub)
}

// validBuilt says that msg, which the builder built with the Anys in built,
// breaks no protoc-gen-validate rule, checking only what validate checks:
// msg's rules, which cover every message in it but those inside Anys, and
// the rules of each Any's message. It runs those checks straight, without
// validate's walk of the message for its Anys: nearly every config is
// valid, and the walk was most of the validation's time. Whenever this
// says no (a violation, or an Any whose message was not recorded), validate
// decides, and names the violation as ever. built may hold more Anys than
// msg does, never fewer (only the builder makes Anys), and one more checked
// can only turn a yes into a no.
func (p *parser) validBuilt(msg proto.Message, built []*anypb.Any) bool {
	if !pgvValid(msg) { // a root Any passes: an Any has no rules of its own
		return false
	}
	for _, a := range built {
		if a.GetTypeUrl() == "" {
			continue // validate skips an empty Any
		}
		inner, ok := p.anys[a]
		if !ok || !pgvValid(inner) {
			return false
		}
	}
	return true
}

// pgvValid says whether m passes its protoc-gen-validate rules, if it has
// any; Validate stops at the first violation, where ValidateAll goes on.
func pgvValid(m proto.Message) bool {
	v, ok := m.(interface{ Validate() error })
	return !ok || v.Validate() == nil
}

// validate checks the protoc-gen-validate rules of msg, which was read from
// v at path, and of every message inside its Anys, as Envoy does when it
// loads a config and instantiates its extensions.
func (p *parser) validate(msg proto.Message, v any, path []any) error {
	var first *ParseError
	count := 0
	report := func(at []pathSeg, reason string) {
		count++
		if first == nil {
			first = &ParseError{Path: append(slices.Clone(path), docPath(v, nil, at)...), Reason: reason}
		}
	}
	var visit func(m protoreflect.Message, at []pathSeg, validate bool)
	var visitAny func(a *anypb.Any, at []pathSeg)
	// visitAny validates the message inside a, whose fields sit beside its
	// "@type" in the document (under "value" for a well-known type).
	visitAny = func(a *anypb.Any, at []pathSeg) {
		if a.GetTypeUrl() == "" {
			return
		}
		inner, err := p.unpack(a)
		if err != nil {
			report(at, err.Error())
			return
		}
		if wktHasCustomJSON(inner.ProtoReflect().Descriptor().FullName()) {
			at = append(at, fieldSeg("value", "value"))
		}
		if ia, ok := inner.(*anypb.Any); ok {
			// An Any that holds an Any: its fields are only a type URL
			// and bytes, so the message to validate is the one inside.
			visitAny(ia, at)
			return
		}
		visit(inner.ProtoReflect(), at, true)
	}
	// field walks the value of fd, a field whose message may hold an Any.
	field := func(fd protoreflect.FieldDescriptor, val protoreflect.Value, at []pathSeg) {
		seg := fieldSeg(string(fd.Name()), fd.JSONName())
		step := func(sub protoreflect.Message, extra ...pathSeg) {
			// at's backing array is a stack: what a step appends is only
			// read (and copied, by report) before the next step.
			p := append(append(at, seg), extra...)
			if a, ok := sub.Interface().(*anypb.Any); ok {
				visitAny(a, p)
				return
			}
			// Validated with its parent, unless it holds an Any.
			visit(sub, p, false)
		}
		switch {
		case fd.IsList():
			l := val.List()
			for i := 0; i < l.Len(); i++ {
				step(l.Get(i).Message(), indexSeg(i))
			}
		case fd.IsMap():
			// In key order, so the violation reported first does not
			// depend on map iteration.
			mp := val.Map()
			keys := make([]protoreflect.MapKey, 0, mp.Len())
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			slices.SortFunc(keys, func(a, b protoreflect.MapKey) int { return strings.Compare(a.String(), b.String()) })
			for _, k := range keys {
				step(mp.Get(k).Message(), keySeg(k.String()))
			}
		default:
			step(val.Message())
		}
	}
	visit = func(m protoreflect.Message, at []pathSeg, validate bool) {
		if validate {
			if val, ok := m.Interface().(interface{ ValidateAll() error }); ok {
				if err := val.ValidateAll(); err != nil {
					segs, reason := pgvViolation(err, m.Descriptor())
					report(append(slices.Clone(at), segs...), reason)
					count += pgvCountViolations(err) - 1
				}
			}
		}
		w := anyWalkOf(m.Descriptor())
		if w.extensible {
			m.Range(func(fd protoreflect.FieldDescriptor, val protoreflect.Value) bool {
				if fieldMayHoldAny(fd) {
					field(fd, val, at)
				}
				return true
			})
			return
		}
		for _, fd := range w.toAny {
			if m.Has(fd) {
				field(fd, m.Get(fd), at)
			}
		}
	}
	if a, ok := msg.(*anypb.Any); ok {
		visitAny(a, nil)
	} else {
		visit(msg.ProtoReflect(), nil, true)
	}
	if first == nil {
		return nil
	}
	if count > 1 {
		first.Reason += fmt.Sprintf(" (and %d more)", count-1)
	}
	return first
}

// The interfaces of protoc-gen-validate's generated errors.
type (
	pgvFieldError interface {
		Field() string
		Reason() string
		Cause() error
		Key() bool
	}
	pgvMultiError interface{ AllErrors() []error }
)

func pgvCountViolations(err error) int {
	if me, ok := err.(pgvMultiError); ok {
		n := 0
		for _, e := range me.AllErrors() {
			n += pgvCountViolations(e)
		}
		return n
	}
	if fe, ok := err.(pgvFieldError); ok && fe.Cause() != nil {
		if _, nested := fe.Cause().(pgvMultiError); nested {
			return pgvCountViolations(fe.Cause())
		}
		if _, nested := fe.Cause().(pgvFieldError); nested {
			return pgvCountViolations(fe.Cause())
		}
	}
	return 1
}

// pgvViolation follows a validation error of a message of type md down to
// the first violated rule: its path through the messages and a reason that
// names the field by its proto name.
func pgvViolation(err error, md protoreflect.MessageDescriptor) ([]pathSeg, string) {
	var segs []pathSeg
	for {
		if me, ok := err.(pgvMultiError); ok {
			all := me.AllErrors()
			if len(all) == 0 {
				return segs, "invalid " + string(md.FullName())
			}
			err = all[0]
			continue
		}
		fe, ok := err.(pgvFieldError)
		if !ok {
			return segs, err.Error()
		}
		name, bracket, hasBracket := strings.Cut(fe.Field(), "[")
		bracket = strings.TrimSuffix(bracket, "]")
		fd := pgvField(md, name)
		if fd == nil {
			// A oneof (or a field this version does not know): the path
			// stays at the message.
			what := string(md.FullName()) + "." + snakeCase(name)
			if od := pgvOneof(md, name); od != nil {
				what = string(md.FullName()) + "." + string(od.Name())
			}
			return segs, "invalid " + what + ": " + pgvReason(fe)
		}
		segs = append(segs, fieldSeg(string(fd.Name()), fd.JSONName()))
		what := string(md.FullName()) + "." + string(fd.Name())
		next := fd.Message()
		if hasBracket {
			if fd.IsMap() {
				segs = append(segs, keySeg(bracket))
				what += "[" + bracket + "]"
				next = fd.MapValue().Message()
			} else if i, err := strconv.Atoi(bracket); err == nil {
				segs = append(segs, indexSeg(i))
				what += "[" + bracket + "]"
			}
		}
		cause := fe.Cause()
		_, nestedMulti := cause.(pgvMultiError)
		_, nestedField := cause.(pgvFieldError)
		if next != nil && (nestedMulti || nestedField) {
			md, err = next, cause
			continue
		}
		return segs, "invalid " + what + ": " + pgvReason(fe)
	}
}

func pgvReason(fe pgvFieldError) string {
	r := fe.Reason()
	if fe.Key() {
		r = "key " + r
	}
	if c := fe.Cause(); c != nil {
		r += ": " + c.Error()
	}
	return r
}

// pgvField finds the field protoc-gen-validate calls name (its Go name).
func pgvField(md protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	want := foldName(name)
	fields := md.Fields()
	for i := 0; i < fields.Len(); i++ {
		if foldName(string(fields.Get(i).Name())) == want {
			return fields.Get(i)
		}
	}
	return nil
}

func pgvOneof(md protoreflect.MessageDescriptor, name string) protoreflect.OneofDescriptor {
	want := foldName(name)
	oneofs := md.Oneofs()
	for i := 0; i < oneofs.Len(); i++ {
		if foldName(string(oneofs.Get(i).Name())) == want {
			return oneofs.Get(i)
		}
	}
	return nil
}

func foldName(s string) string { return strings.ToLower(strings.ReplaceAll(s, "_", "")) }

// snakeCase turns a Go field name into snake_case for messages.
func snakeCase(s string) string {
	var b strings.Builder
	for i, r := range s {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('_')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}
