package envoy

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/inzone-io/inzone/internal/anywalk"
)

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
	w := anywalk.Walker{
		Unpack: func(a *anypb.Any, at []anywalk.Step) proto.Message {
			if a.GetTypeUrl() == "" {
				return nil
			}
			inner, err := p.unpack(a)
			if err != nil {
				report(stepSegs(at), err.Error())
				return nil
			}
			return inner
		},
		// An Any has no rules of its own: for one that an Any holds, the
		// walk goes on to the message inside.
		Visit: func(m proto.Message, at []anywalk.Step) {
			if val, ok := m.(interface{ ValidateAll() error }); ok {
				if err := val.ValidateAll(); err != nil {
					segs, reason := pgvViolation(err, m.ProtoReflect().Descriptor())
					report(append(stepSegs(at), segs...), reason)
					count += pgvCountViolations(err) - 1
				}
			}
		},
	}
	w.Walk(msg)
	if first == nil {
		return nil
	}
	if count > 1 {
		first.Reason += fmt.Sprintf(" (and %d more)", count-1)
	}
	return first
}

// stepSegs is a path of the walk as a path through messages: a message
// unpacked from an Any sits beside the Any's "@type" in the document, or
// under "value" for a well-known type.
func stepSegs(steps []anywalk.Step) []pathSeg {
	segs := make([]pathSeg, 0, len(steps)+1)
	for _, s := range steps {
		switch {
		case s.Field == nil:
			if wktHasCustomJSON(s.Unpacked) {
				segs = append(segs, fieldSeg("value", "value"))
			}
		case s.Field.IsList():
			segs = append(segs, fieldSeg(string(s.Field.Name()), s.Field.JSONName()), indexSeg(s.Index))
		case s.Field.IsMap():
			segs = append(segs, fieldSeg(string(s.Field.Name()), s.Field.JSONName()), keySeg(s.Key))
		default:
			segs = append(segs, fieldSeg(string(s.Field.Name()), s.Field.JSONName()))
		}
	}
	return segs
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
