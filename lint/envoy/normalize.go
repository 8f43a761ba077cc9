package envoy

import (
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/durationpb"
	"google.golang.org/protobuf/types/known/timestamppb"
)

// maxDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxDepth = 1000

// normalizer writes a decoded YAML/JSON value as the JSON protojson
// accepts for a message, accepting what Envoy's loader (protobuf's C++ JSON
// parser with case_insensitive_enum_parsing and its legacy syntax) accepts,
// and reporting what it rejects with the path of the field.
type normalizer struct {
	buf   []byte
	path  []any
	depth int
}

func (n *normalizer) errorf(format string, args ...any) error {
	return &ParseError{Path: slices.Clone(n.path), Reason: fmt.Sprintf(format, args...)}
}

// errAt reports a problem with key, a key of the current object.
func (n *normalizer) errAt(key any, format string, args ...any) error {
	return &ParseError{Path: appendPath(n.path, key), Reason: fmt.Sprintf(format, args...)}
}

func (n *normalizer) push(seg any) { n.path = append(n.path, seg) }
func (n *normalizer) pop()         { n.path = n.path[:len(n.path)-1] }

// Well-known types with their own JSON form.
// message writes v as a message of type md.
func (n *normalizer) message(md protoreflect.MessageDescriptor, v any) error {
	n.depth++
	defer func() { n.depth-- }()
	if n.depth > maxDepth {
		return n.errorf("nested more than %d levels deep", maxDepth)
	}
	name := md.FullName()
	switch {
	case name == wktAny:
		return n.anyMessage(v)
	case name == wktDuration:
		return n.duration(v)
	case name == wktTimestamp:
		return n.timestamp(v)
	case name == wktFieldMask:
		return n.fieldMask(v)
	case name == wktStruct:
		if _, ok := asObject(v); !ok {
			return n.errorf("expected an object for %s, got %s", name, describe(v))
		}
		return n.plain(v)
	case name == wktListValue:
		if _, ok := v.([]any); !ok {
			return n.errorf("expected a list for %s, got %s", name, describe(v))
		}
		return n.plain(v)
	case name == wktValue:
		return n.plain(v)
	case isWKTWrapper(name):
		if m, ok := asObject(v); ok { // Envoy's parser also takes the object form {value: x}
			// The first unknown key in order, so the error does not
			// depend on map iteration.
			for _, k := range sortedKeys(m) {
				if k != "value" {
					return n.errAt(k, "unknown field %q in %s", k, name)
				}
			}
			x, ok := m["value"]
			if !ok || x == nil {
				n.buf = append(n.buf, defaultMessageJSON(md)...)
				return nil
			}
			n.push("value")
			defer n.pop()
			v = x
		}
		return n.scalar(md.Fields().ByName("value"), v)
	}
	m, ok := asObject(v)
	if !ok {
		return n.errorf("expected an object for %s, got %s", name, describe(v))
	}
	return n.fields(md, m, false)
}

// fields writes object m as message md. In an Any, "@type" is skipped and
// already written.
func (n *normalizer) fields(md protoreflect.MessageDescriptor, m map[string]any, inAny bool) error {
	type entry struct {
		fd  protoreflect.FieldDescriptor
		key string
		val any
	}
	keys := sortedKeys(m)
	entries := make([]entry, 0, len(keys))
	for _, k := range keys {
		if inAny && k == "@type" {
			continue
		}
		fd := fieldByKey(md, k)
		if fd == nil {
			return n.errAt(k, "unknown field %q in %s", k, md.FullName())
		}
		v := m[k]
		if v == nil && !acceptsNull(fd) {
			continue // null is the default
		}
		dup := -1
		od := fd.ContainingOneof()
		for i, e := range entries {
			if e.fd == fd {
				dup = i
				break
			}
			if od != nil && !od.IsSynthetic() && e.fd.ContainingOneof() == od {
				return n.errAt(k, "%q and %q are both set, but %s takes only one of the oneof %s", e.key, k, md.FullName(), od.Name())
			}
		}
		if dup >= 0 { // both the snake_case and the lowerCamelCase key: merged, as Envoy does
			entries[dup].val = merge(entries[dup].val, v)
			continue
		}
		entries = append(entries, entry{fd: fd, key: k, val: v})
	}
	if !inAny {
		n.buf = append(n.buf, '{')
	}
	for i, e := range entries {
		if i > 0 || inAny {
			n.buf = append(n.buf, ',')
		}
		n.buf = appendJSONString(n.buf, string(e.fd.Name()))
		n.buf = append(n.buf, ':')
		n.push(e.key)
		err := n.field(e.fd, e.val)
		n.pop()
		if err != nil {
			return err
		}
	}
	if !inAny {
		n.buf = append(n.buf, '}')
	}
	return nil
}

func acceptsNull(fd protoreflect.FieldDescriptor) bool {
	if fd.IsList() || fd.IsMap() {
		return false
	}
	switch {
	case fd.Message() != nil:
		return fd.Message().FullName() == wktValue
	case fd.Enum() != nil:
		return fd.Enum().FullName() == wktNullValue
	}
	return false
}

// merge combines the values of a field given twice: objects merge,
// lists concatenate, otherwise the later one wins.
func merge(a, b any) any {
	am, aok := asObject(a)
	bm, bok := asObject(b)
	if aok && bok {
		out := make(map[string]any, len(am)+len(bm))
		for k, v := range am {
			out[k] = v
		}
		for k, v := range bm {
			if old, ok := out[k]; ok {
				v = merge(old, v)
			}
			out[k] = v
		}
		return out
	}
	al, aok := a.([]any)
	bl, bok := b.([]any)
	if aok && bok {
		return append(slices.Clone(al), bl...)
	}
	return b
}

// field writes the value of fd.
func (n *normalizer) field(fd protoreflect.FieldDescriptor, v any) error {
	switch {
	case fd.IsMap():
		m, ok := asObject(v)
		if !ok {
			return n.errorf("expected an object for map field %s, got %s", fd.Name(), describe(v))
		}
		n.buf = append(n.buf, '{')
		vf := fd.MapValue()
		i := 0
		for _, k := range sortedKeys(m) {
			x := m[k]
			if x == nil && !acceptsNull(vf) {
				continue
			}
			if err := checkMapKey(fd.MapKey(), k); err != "" {
				return n.errAt(k, "invalid map key %q: %s", k, err)
			}
			if i > 0 {
				n.buf = append(n.buf, ',')
			}
			i++
			n.buf = appendJSONString(n.buf, k)
			n.buf = append(n.buf, ':')
			n.push(k)
			err := n.scalar(vf, x)
			n.pop()
			if err != nil {
				return err
			}
		}
		n.buf = append(n.buf, '}')
		return nil
	case fd.IsList():
		n.buf = append(n.buf, '[')
		count := 0
		var err error
		if l, ok := v.([]any); ok {
			err = n.list(fd, l, &count)
		} else {
			// A single value in place of a list, which Envoy's parser accepts.
			err = n.element(fd, v, &count)
		}
		n.buf = append(n.buf, ']')
		return err
	}
	return n.scalar(fd, v)
}

// checkMapKey checks a map key (a JSON object key) against the key type.
func checkMapKey(kd protoreflect.FieldDescriptor, k string) string {
	switch kd.Kind() {
	case protoreflect.StringKind:
		return ""
	case protoreflect.BoolKind:
		if k != "true" && k != "false" {
			return "expected true or false"
		}
		return ""
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		if _, err := strconv.ParseInt(k, 10, 32); err != nil {
			return "expected an int32"
		}
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		if _, err := strconv.ParseInt(k, 10, 64); err != nil {
			return "expected an int64"
		}
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		if _, err := strconv.ParseUint(k, 10, 32); err != nil {
			return "expected a uint32"
		}
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		if _, err := strconv.ParseUint(k, 10, 64); err != nil {
			return "expected a uint64"
		}
	}
	return ""
}

// list writes the elements of l; nested lists are flattened, as Envoy's
// parser does, except for lists of Value and ListValue.
func (n *normalizer) list(fd protoreflect.FieldDescriptor, l []any, count *int) error {
	flatten := fd.Message() == nil || (fd.Message().FullName() != wktValue && fd.Message().FullName() != wktListValue)
	for i, x := range l {
		n.push(i)
		var err error
		if inner, ok := x.([]any); ok && flatten {
			n.depth++
			if n.depth > maxDepth {
				err = n.errorf("nested more than %d levels deep", maxDepth)
			} else {
				err = n.list(fd, inner, count)
			}
			n.depth--
		} else {
			err = n.element(fd, x, count)
		}
		n.pop()
		if err != nil {
			return err
		}
	}
	return nil
}

func (n *normalizer) element(fd protoreflect.FieldDescriptor, x any, count *int) error {
	if *count > 0 {
		n.buf = append(n.buf, ',')
	}
	*count++
	if x == nil && !acceptsNullElement(fd) {
		// Envoy's parser takes null in a list as the default element.
		n.buf = append(n.buf, defaultJSON(fd)...)
		return nil
	}
	return n.scalar(fd, x)
}

func acceptsNullElement(fd protoreflect.FieldDescriptor) bool {
	return fd.Message() != nil && fd.Message().FullName() == wktValue
}

// defaultJSON is the JSON of the default value of one element of fd.
func defaultJSON(fd protoreflect.FieldDescriptor) string {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return defaultMessageJSON(fd.Message())
	case protoreflect.BoolKind:
		return "false"
	case protoreflect.StringKind, protoreflect.BytesKind:
		return `""`
	}
	return "0"
}

func defaultMessageJSON(md protoreflect.MessageDescriptor) string {
	name := md.FullName()
	switch {
	case name == wktDuration:
		return `"0s"`
	case name == wktTimestamp:
		return `"1970-01-01T00:00:00Z"`
	case name == wktFieldMask:
		return `""`
	case name == wktListValue:
		return "[]"
	case name == wktValue:
		return "null"
	case isWKTWrapper(name):
		return defaultJSON(md.Fields().ByName("value"))
	}
	return "{}"
}

// scalar writes one value of fd's type (a singular field, a list element or
// a map value).
func (n *normalizer) scalar(fd protoreflect.FieldDescriptor, v any) error {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return n.message(fd.Message(), v)
	case protoreflect.EnumKind:
		return n.enum(fd.Enum(), v)
	case protoreflect.BoolKind:
		b, ok := asBool(v)
		if !ok {
			return n.errorf("expected true or false, got %s", describe(v))
		}
		n.buf = strconv.AppendBool(n.buf, b)
		return nil
	case protoreflect.StringKind:
		s, ok := asString(v)
		if !ok {
			return n.errorf("expected a string, got %s", describe(v))
		}
		n.buf = appendJSONString(n.buf, s)
		return nil
	case protoreflect.BytesKind:
		s, ok := v.(string)
		if !ok {
			return n.errorf("expected a base64 string, got %s", describe(v))
		}
		if _, ok := decodeBase64(s); !ok {
			return n.errorf("expected a base64 string (standard or URL-safe alphabet, padded or not)")
		}
		n.buf = appendJSONString(n.buf, s)
		return nil
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f, ok := asFloat(v)
		if !ok {
			return n.errorf("expected a number, got %s", describe(v))
		}
		if fd.Kind() == protoreflect.FloatKind && !math.IsInf(f, 0) && math.IsInf(float64(float32(f)), 0) {
			return n.errorf("%v is out of range for a float", f)
		}
		n.buf = appendJSONFloat(n.buf, f)
		return nil
	}
	// Integers.
	text, ok := integerText(v)
	if !ok {
		return n.errorf("expected an integer, got %s", describe(v))
	}
	var bits int
	var signed bool
	switch fd.Kind() {
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		bits, signed = 32, true
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		bits, signed = 64, true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		bits = 32
	default:
		bits = 64
	}
	if signed {
		if _, err := strconv.ParseInt(text, 10, bits); err != nil {
			return n.errorf("%s is out of range for an int%d", text, bits)
		}
	} else if _, err := strconv.ParseUint(text, 10, bits); err != nil {
		if strings.HasPrefix(text, "-") {
			return n.errorf("%s is negative, but the field is unsigned", text)
		}
		return n.errorf("%s is out of range for a uint%d", text, bits)
	}
	n.buf = append(n.buf, text...)
	return nil
}

// enum writes an enum value: a name in any case (Envoy parses enum names
// case-insensitively) becomes the declared name, a number stays a number.
func (n *normalizer) enum(ed protoreflect.EnumDescriptor, v any) error {
	if v == nil && ed.FullName() == wktNullValue {
		n.buf = append(n.buf, "null"...)
		return nil
	}
	if s, ok := v.(string); ok {
		values := ed.Values()
		if values.ByName(protoreflect.Name(s)) != nil {
			n.buf = appendJSONString(n.buf, s)
			return nil
		}
		for i := 0; i < values.Len(); i++ {
			if name := string(values.Get(i).Name()); strings.EqualFold(name, s) {
				n.buf = appendJSONString(n.buf, name)
				return nil
			}
		}
		if i, err := strconv.ParseInt(s, 10, 32); err == nil {
			n.buf = strconv.AppendInt(n.buf, i, 10)
			return nil
		}
		return n.errorf("invalid value %q for enum %s (one of %s)", s, ed.FullName(), enumNames(ed))
	}
	text, ok := integerText(v)
	if !ok {
		return n.errorf("expected a name of enum %s, got %s", ed.FullName(), describe(v))
	}
	if _, err := strconv.ParseInt(text, 10, 32); err != nil {
		return n.errorf("%s is out of range for enum %s", text, ed.FullName())
	}
	n.buf = append(n.buf, text...)
	return nil
}

func enumNames(ed protoreflect.EnumDescriptor) string {
	values := ed.Values()
	names := make([]string, 0, values.Len())
	for i := 0; i < values.Len() && i < 12; i++ {
		names = append(names, string(values.Get(i).Name()))
	}
	if values.Len() > 12 {
		names = append(names, "...")
	}
	return strings.Join(names, ", ")
}

// anyMessage writes an Any: "@type" names the message, whose fields sit
// beside it (or under "value" for a well-known type).
func (n *normalizer) anyMessage(v any) error {
	m, ok := asObject(v)
	if !ok {
		return n.errorf(`expected an object with "@type", got %s`, describe(v))
	}
	t, ok := m["@type"]
	if !ok {
		if len(m) == 0 {
			n.buf = append(n.buf, "{}"...)
			return nil
		}
		return n.errorf(`missing "@type": a typed config names its type, e.g. "@type": type.googleapis.com/envoy.extensions...`)
	}
	url, ok := t.(string)
	if !ok {
		return n.errAt("@type", "expected a type URL string, got %s", describe(t))
	}
	mt, err := resolver{}.FindMessageByURL(url)
	if err != nil {
		return n.errAt("@type", "unknown extension type %s", typeName(url))
	}
	md := mt.Descriptor()
	n.buf = append(n.buf, `{"@type":`...)
	n.buf = appendJSONString(n.buf, url)
	if wktHasCustomJSON(md.FullName()) {
		for _, k := range sortedKeys(m) {
			if k != "@type" && k != "value" {
				return n.errAt(k, `unknown field %q: an Any holding %s has only "@type" and "value"`, k, md.FullName())
			}
		}
		n.buf = append(n.buf, `,"value":`...)
		x, ok := m["value"]
		if !ok || (x == nil && md.FullName() != wktValue) {
			n.buf = append(n.buf, defaultMessageJSON(md)...)
		} else {
			n.push("value")
			err := n.message(md, x)
			n.pop()
			if err != nil {
				return err
			}
		}
		n.buf = append(n.buf, '}')
		return nil
	}
	n.depth++
	defer func() { n.depth-- }()
	if err := n.fields(md, m, true); err != nil {
		return err
	}
	n.buf = append(n.buf, '}')
	return nil
}

// fieldMask writes a FieldMask: "a.b,cD" (paths in lowerCamelCase, or in
// snake_case as Envoy's parser also takes), or the object form {paths: [...]}.
func (n *normalizer) fieldMask(v any) error {
	var paths []string
	switch x := v.(type) {
	case string:
		if x != "" {
			paths = strings.Split(x, ",")
		}
	case map[string]any, map[any]any:
		m, _ := asObject(x)
		for _, k := range sortedKeys(m) {
			if k != "paths" {
				return n.errAt(k, `unknown field %q in %s`, k, wktFieldMask)
			}
			list, ok := m[k].([]any)
			if !ok {
				list = []any{m[k]}
			}
			for i, p := range list {
				s, ok := p.(string)
				if !ok {
					n.push(k)
					err := n.errAt(i, "expected a field path string, got %s", describe(p))
					n.pop()
					return err
				}
				paths = append(paths, s)
			}
		}
	default:
		return n.errorf("expected a field mask string such as \"name,loadAssignment\", got %s", describe(v))
	}
	for i, p := range paths {
		camel := []byte{}
		for j := 0; j < len(p); j++ {
			c := p[j]
			switch {
			case c == '_' && j+1 < len(p) && p[j+1] >= 'a' && p[j+1] <= 'z':
				j++
				camel = append(camel, p[j]-'a'+'A')
			case c == '.' || (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'):
				camel = append(camel, c)
			default:
				return n.errorf("invalid field path %q in field mask", p)
			}
		}
		paths[i] = string(camel)
	}
	n.buf = appendJSONString(n.buf, strings.Join(paths, ","))
	return nil
}

// duration writes a Duration: "1s", "0.25s", "-1.5s"; Envoy's parser also
// takes the object form {seconds, nanos}.
func (n *normalizer) duration(v any) error {
	switch x := v.(type) {
	case string:
		if err := checkDuration(x); err != "" {
			return n.errorf("invalid duration %q: %s", x, err)
		}
		n.buf = appendJSONString(n.buf, x)
		return nil
	case map[string]any, map[any]any:
		d := &durationpb.Duration{}
		if err := n.secondsNanos(x, &d.Seconds, &d.Nanos); err != nil {
			return err
		}
		if err := d.CheckValid(); err != nil {
			return n.errorf("invalid duration: %v", err)
		}
		b, err := protojson.Marshal(d)
		if err != nil {
			return n.errorf("invalid duration: %v", err)
		}
		n.buf = append(n.buf, b...)
		return nil
	}
	return n.errorf(`expected a duration string such as "5s" or "0.25s", got %s`, describe(v))
}

func (n *normalizer) timestamp(v any) error {
	switch x := v.(type) {
	case string:
		t, err := time.Parse(time.RFC3339Nano, x)
		if err != nil || t.Year() < 1 || t.Year() > 9999 {
			return n.errorf("invalid timestamp %q: want RFC 3339, e.g. 2020-10-25T20:37:05.838Z", x)
		}
		n.buf = appendJSONString(n.buf, x)
		return nil
	case map[string]any, map[any]any:
		ts := &timestamppb.Timestamp{}
		if err := n.secondsNanos(x, &ts.Seconds, &ts.Nanos); err != nil {
			return err
		}
		if err := ts.CheckValid(); err != nil {
			return n.errorf("invalid timestamp: %v", err)
		}
		b, err := protojson.Marshal(ts)
		if err != nil {
			return n.errorf("invalid timestamp: %v", err)
		}
		n.buf = append(n.buf, b...)
		return nil
	}
	return n.errorf("expected an RFC 3339 timestamp string, got %s", describe(v))
}

// secondsNanos reads the object form {seconds, nanos} of a Duration or Timestamp.
func (n *normalizer) secondsNanos(v any, secs *int64, nanos *int32) error {
	m, _ := asObject(v)
	for _, k := range sortedKeys(m) {
		text, ok := integerText(m[k])
		switch k {
		case "seconds":
			s, err := strconv.ParseInt(text, 10, 64)
			if !ok || err != nil {
				return n.errAt(k, "expected an integer, got %s", describe(m[k]))
			}
			*secs = s
		case "nanos":
			ns, err := strconv.ParseInt(text, 10, 32)
			if !ok || err != nil {
				return n.errAt(k, "expected an integer, got %s", describe(m[k]))
			}
			*nanos = int32(ns)
		default:
			return n.errAt(k, `unknown field %q: expected "seconds" and "nanos"`, k)
		}
	}
	return nil
}

// checkDuration checks the JSON form of a Duration as protobuf parses it:
// an optional '-', digits, up to 9 fractional digits, 's'.
func checkDuration(s string) string {
	if !strings.HasSuffix(s, "s") {
		return `it must end in "s" (seconds), e.g. "5s" or "0.25s"`
	}
	body := strings.TrimPrefix(s[:len(s)-1], "-")
	intPart, frac, hasFrac := strings.Cut(body, ".")
	if intPart == "" || strings.Trim(intPart, "0123456789") != "" {
		return `it must be a number of seconds, e.g. "5s" or "0.25s"`
	}
	if hasFrac && (frac == "" || len(frac) > 9 || strings.Trim(frac, "0123456789") != "") {
		return "at most 9 fractional digits"
	}
	secs, err := strconv.ParseInt(intPart, 10, 64)
	if err != nil || secs > 315576000000 {
		return "out of range (at most 315576000000s)"
	}
	return ""
}

// plain writes any JSON value (Struct, Value, ListValue contents).
func (n *normalizer) plain(v any) error {
	n.depth++
	defer func() { n.depth-- }()
	if n.depth > maxDepth {
		return n.errorf("nested more than %d levels deep", maxDepth)
	}
	switch x := v.(type) {
	case nil:
		n.buf = append(n.buf, "null"...)
	case bool:
		n.buf = strconv.AppendBool(n.buf, x)
	case string:
		n.buf = appendJSONString(n.buf, x)
	case []any:
		n.buf = append(n.buf, '[')
		for i, e := range x {
			if i > 0 {
				n.buf = append(n.buf, ',')
			}
			n.push(i)
			err := n.plain(e)
			n.pop()
			if err != nil {
				return err
			}
		}
		n.buf = append(n.buf, ']')
	case map[string]any, map[any]any:
		m, _ := asObject(x)
		n.buf = append(n.buf, '{')
		for i, k := range sortedKeys(m) {
			if i > 0 {
				n.buf = append(n.buf, ',')
			}
			n.buf = appendJSONString(n.buf, k)
			n.buf = append(n.buf, ':')
			n.push(k)
			err := n.plain(m[k])
			n.pop()
			if err != nil {
				return err
			}
		}
		n.buf = append(n.buf, '}')
	default:
		f, ok := asFloat(x)
		if !ok {
			return n.errorf("unsupported value %s", describe(v))
		}
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return n.errorf("%v is not a JSON number", f)
		}
		if text, ok := integerText(x); ok {
			n.buf = append(n.buf, text...)
		} else {
			n.buf = appendJSONFloat(n.buf, f)
		}
	}
	return nil
}
