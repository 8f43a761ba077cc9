package envoy

import (
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// builder reads a decoded YAML/JSON value straight into a message: the
// message the normalizer's JSON gives protojson, without that JSON. It
// takes only plain, valid input (fields by either name once, enum names in
// any case or numbers, integers, strings, booleans, doubles, duration
// strings, wrappers, Struct, Value and ListValue, lists or a single value in
// place of one, string-keyed maps, Anys); on anything else it gives up, and
// the parser takes the JSON way, which has the other leniencies and the
// error messages. So it never decides what is valid.
type builder struct {
	depth int
	// anys records the message each Any was built from, so that the
	// parser does not unmarshal it again (parser.anys).
	anys map[*anypb.Any]proto.Message
	// built lists every Any built, for validBuilt.
	built []*anypb.Any
}

// buildMaxDepth keeps the builder well inside the normalizer's
// maxDepth; deeper input takes the JSON way.
const buildMaxDepth = maxDepth / 2

// message fills m, a new message, from v; false means give up.
func (b *builder) message(m protoreflect.Message, v any) bool {
	if b.depth++; b.depth > buildMaxDepth {
		return false
	}
	defer func() { b.depth-- }()
	md := m.Descriptor()
	if name := string(md.FullName()); strings.HasPrefix(name, "google.protobuf.") {
		switch {
		case name == wktAny:
			return b.anyMessage(m, v)
		case name == wktDuration:
			return buildDuration(m, v)
		case isWKTWrapper(md.FullName()):
			if isObject(v) {
				return false // the object form {value: x}
			}
			fd := md.Fields().ByNumber(1)
			x, ok := b.scalar(fd, v)
			if ok {
				m.Set(fd, x)
			}
			return ok
		case name == wktStruct:
			obj, ok := v.(map[string]any)
			return ok && b.structFields(m, obj)
		case name == wktListValue:
			l, ok := v.([]any)
			return ok && b.listValues(m, l)
		case name == wktValue:
			return b.value(m, v)
		case wktHasCustomJSON(md.FullName()):
			return false
		}
	}
	// A map[any]any (YAML with keys that are not strings) is left to the
	// normalizer, whose conversion of the keys decides between keys that
	// print alike.
	obj, ok := v.(map[string]any)
	return ok && b.fields(m, obj, false)
}

func isObject(v any) bool {
	switch v.(type) {
	case map[string]any, map[any]any:
		return true
	}
	return false
}

// structFields fills a Struct from obj.
func (b *builder) structFields(m protoreflect.Message, obj map[string]any) bool {
	fd := m.Descriptor().Fields().ByName("fields")
	mv := m.Mutable(fd).Map()
	for k, x := range obj {
		if !utf8.ValidString(k) {
			return false
		}
		val := mv.NewValue()
		if !b.value(val.Message(), x) {
			return false
		}
		mv.Set(protoreflect.ValueOfString(k).MapKey(), val)
	}
	return true
}

// listValues fills a ListValue from l.
func (b *builder) listValues(m protoreflect.Message, l []any) bool {
	list := m.Mutable(m.Descriptor().Fields().ByName("values")).List()
	for _, x := range l {
		val := list.NewElement()
		if !b.value(val.Message(), x) {
			return false
		}
		list.Append(val)
	}
	return true
}

// value fills a Value from any decoded value, as protojson reads the JSON
// the normalizer writes of it.
func (b *builder) value(m protoreflect.Message, v any) bool {
	if b.depth++; b.depth > buildMaxDepth {
		return false
	}
	defer func() { b.depth-- }()
	fields := m.Descriptor().Fields()
	switch x := v.(type) {
	case nil:
		m.Set(fields.ByName("null_value"), protoreflect.ValueOfEnum(0))
	case bool:
		m.Set(fields.ByName("bool_value"), protoreflect.ValueOfBool(x))
	case string:
		if !utf8.ValidString(x) {
			return false
		}
		m.Set(fields.ByName("string_value"), protoreflect.ValueOfString(x))
	case []any:
		return b.listValues(m.Mutable(fields.ByName("list_value")).Message(), x)
	case map[string]any:
		return b.structFields(m.Mutable(fields.ByName("struct_value")).Message(), x)
	default:
		// Integers become their decimal text and floats their shortest
		// text; protojson reads either back as the nearest double, which is
		// what asFloat gives.
		f, ok := asFloat(x)
		if !ok || math.IsNaN(f) || math.IsInf(f, 0) {
			return false
		}
		m.Set(fields.ByName("number_value"), protoreflect.ValueOfFloat64(f))
	}
	return true
}

// fields sets the fields of m from obj; in an Any, "@type" is not a field.
func (b *builder) fields(m protoreflect.Message, obj map[string]any, inAny bool) bool {
	fields := m.Descriptor().Fields()
	for k, v := range obj {
		if inAny && k == "@type" {
			continue
		}
		fd := fields.ByName(protoreflect.Name(k))
		alt := ""
		if fd != nil {
			alt = fd.JSONName()
		} else if fd = fields.ByJSONName(k); fd != nil {
			alt = string(fd.Name())
		} else {
			return false
		}
		if alt != k {
			if _, both := obj[alt]; both {
				return false // merged by the normalizer
			}
		}
		if v == nil {
			if acceptsNull(fd) {
				return false
			}
			continue // null is the default
		}
		if od := fd.ContainingOneof(); od != nil && !od.IsSynthetic() {
			if set := m.WhichOneof(od); set != nil && set != fd {
				return false
			}
		}
		if !b.field(m, fd, v) {
			return false
		}
	}
	return true
}

func (b *builder) field(m protoreflect.Message, fd protoreflect.FieldDescriptor, v any) bool {
	switch {
	case fd.IsMap():
		obj, ok := v.(map[string]any)
		if !ok || fd.MapKey().Kind() != protoreflect.StringKind {
			return false
		}
		mv := m.Mutable(fd).Map()
		vd := fd.MapValue()
		for k, x := range obj {
			if x == nil || !utf8.ValidString(k) {
				return false
			}
			var val protoreflect.Value
			if vd.Message() != nil {
				val = mv.NewValue()
				if !b.message(val.Message(), x) {
					return false
				}
			} else if val, ok = b.scalar(vd, x); !ok {
				return false
			}
			mv.Set(protoreflect.ValueOfString(k).MapKey(), val)
		}
		return true
	case fd.IsList():
		l, ok := v.([]any)
		if !ok {
			l = []any{v} // a single value in place of the list, as Envoy takes it
		}
		list := m.Mutable(fd).List()
		for _, x := range l {
			if x == nil {
				return false
			}
			if _, nested := x.([]any); nested {
				return false
			}
			var val protoreflect.Value
			if fd.Message() != nil {
				val = list.NewElement()
				if !b.message(val.Message(), x) {
					return false
				}
			} else if val, ok = b.scalar(fd, x); !ok {
				return false
			}
			list.Append(val)
		}
		return true
	case fd.Message() != nil:
		return b.message(m.Mutable(fd).Message(), v)
	}
	x, ok := b.scalar(fd, v)
	if ok {
		m.Set(fd, x)
	}
	return ok
}

// scalar is v as a value of fd, a field of a scalar or enum type.
func (b *builder) scalar(fd protoreflect.FieldDescriptor, v any) (protoreflect.Value, bool) {
	switch fd.Kind() {
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == wktNullValue {
			return protoreflect.Value{}, false
		}
		s, ok := v.(string)
		if !ok {
			// A number, which protojson reads as a canonical JSON number.
			text, ok := integerText(v)
			n, err := strconv.ParseInt(text, 10, 32)
			if !ok || err != nil || strconv.FormatInt(n, 10) != text {
				return protoreflect.Value{}, false
			}
			return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), true
		}
		values := fd.Enum().Values()
		if ev := values.ByName(protoreflect.Name(s)); ev != nil {
			return protoreflect.ValueOfEnum(ev.Number()), true
		}
		for i := 0; i < values.Len(); i++ {
			if ev := values.Get(i); strings.EqualFold(string(ev.Name()), s) {
				return protoreflect.ValueOfEnum(ev.Number()), true
			}
		}
		// A number in a string, which the normalizer writes as a number.
		n, err := strconv.ParseInt(s, 10, 32)
		return protoreflect.ValueOfEnum(protoreflect.EnumNumber(n)), err == nil
	case protoreflect.BoolKind:
		x, ok := asBool(v)
		return protoreflect.ValueOfBool(x), ok
	case protoreflect.StringKind:
		s, ok := asString(v)
		return protoreflect.ValueOfString(s), ok && utf8.ValidString(s)
	case protoreflect.DoubleKind:
		f, ok := asFloat(v)
		return protoreflect.ValueOfFloat64(f), ok
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind,
		protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		text, ok := integerText(v)
		if !ok {
			return protoreflect.Value{}, false
		}
		bits := 64
		if k := fd.Kind(); k == protoreflect.Int32Kind || k == protoreflect.Sint32Kind || k == protoreflect.Sfixed32Kind {
			bits = 32
		}
		n, err := strconv.ParseInt(text, 10, bits)
		// The normalizer writes the text as is; protojson reads only
		// canonical JSON numbers (no leading zeros).
		if err != nil || strconv.FormatInt(n, 10) != text {
			return protoreflect.Value{}, false
		}
		if bits == 32 {
			return protoreflect.ValueOfInt32(int32(n)), true
		}
		return protoreflect.ValueOfInt64(n), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind, protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		text, ok := integerText(v)
		if !ok {
			return protoreflect.Value{}, false
		}
		bits := 64
		if k := fd.Kind(); k == protoreflect.Uint32Kind || k == protoreflect.Fixed32Kind {
			bits = 32
		}
		n, err := strconv.ParseUint(text, 10, bits)
		if err != nil || strconv.FormatUint(n, 10) != text {
			return protoreflect.Value{}, false
		}
		if bits == 32 {
			return protoreflect.ValueOfUint32(uint32(n)), true
		}
		return protoreflect.ValueOfUint64(n), true
	}
	return protoreflect.Value{}, false // float, bytes: the JSON way
}

// anyMessage fills an Any from an object with "@type" and the fields of a
// message of that type, as protojson does: the message deterministically
// serialized.
func (b *builder) anyMessage(m protoreflect.Message, v any) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	if len(obj) == 0 {
		return true // {}: an empty Any
	}
	url, ok := obj["@type"].(string)
	if !ok || !utf8.ValidString(url) {
		return false // the JSON path writes bad bytes as U+FFFD
	}
	mt, err := resolver{}.FindMessageByURL(url)
	if err != nil {
		return false
	}
	inner := mt.New()
	if b.depth++; b.depth > buildMaxDepth {
		return false
	}
	defer func() { b.depth-- }()
	if wktHasCustomJSON(mt.Descriptor().FullName()) {
		// {"@type": ..., "value": <the type's own JSON form>}
		x, ok := obj["value"]
		if !ok || x == nil || len(obj) != 2 || !b.message(inner, x) {
			return false
		}
	} else if !b.fields(inner, obj, true) {
		return false
	}
	raw, err := proto.MarshalOptions{AllowPartial: true, Deterministic: true}.Marshal(inner.Interface())
	if err != nil {
		return false
	}
	fds := m.Descriptor().Fields()
	m.Set(fds.ByNumber(1), protoreflect.ValueOfString(url))
	m.Set(fds.ByNumber(2), protoreflect.ValueOfBytes(raw))
	if a, ok := m.Interface().(*anypb.Any); ok {
		b.built = append(b.built, a)
		if b.anys != nil && proto.CheckInitialized(inner.Interface()) == nil {
			b.anys[a] = inner.Interface()
		}
	}
	return true
}

// buildDuration sets a Duration from its string form: an optional '-',
// seconds without leading zeros, up to 9 fractional digits, 's'.
func buildDuration(m protoreflect.Message, v any) bool {
	s, ok := v.(string)
	if !ok || !strings.HasSuffix(s, "s") {
		return false
	}
	body := s[:len(s)-1]
	neg := strings.HasPrefix(body, "-")
	body = strings.TrimPrefix(body, "-")
	intPart, frac, hasFrac := strings.Cut(body, ".")
	if intPart == "" || len(intPart) > 12 || (len(intPart) > 1 && intPart[0] == '0') || !allDigits(intPart) {
		return false
	}
	if hasFrac && (frac == "" || len(frac) > 9 || !allDigits(frac)) {
		return false
	}
	secs, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || secs >= 315576000000 {
		return false
	}
	var nanos int64
	if hasFrac {
		nanos, _ = strconv.ParseInt(frac+strings.Repeat("0", 9-len(frac)), 10, 64)
	}
	if neg {
		secs, nanos = -secs, -nanos
	}
	fds := m.Descriptor().Fields()
	m.Set(fds.ByNumber(1), protoreflect.ValueOfInt64(secs))
	m.Set(fds.ByNumber(2), protoreflect.ValueOfInt32(int32(nanos)))
	return true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
