package envoy

import (
	"encoding/base64"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// renderMessage is msg as protojson with proto field names, decoded into plain
// values for Rego (renderJSON). It builds that value straight from the
// message, without the JSON text in between; anything protojson would reject
// or write in a form this does not reproduce takes the JSON way, so the value
// and the errors are the same. anys holds the messages already unpacked from
// the Anys of msg (nil for none).
func renderMessage(msg proto.Message, anys map[*anypb.Any]proto.Message) (map[string]any, error) {
	r := renderer{anys: anys}
	if v, ok := r.message(msg.ProtoReflect()); ok {
		if m, ok := v.(map[string]any); ok {
			return m, nil
		}
	}
	return renderJSON(msg)
}

// renderJSON writes msg as protojson with proto field names, decoded
// into plain values.
func renderJSON(msg proto.Message) (map[string]any, error) {
	b, err := protojson.MarshalOptions{UseProtoNames: true, Resolver: resolver{}}.Marshal(msg)
	if err != nil {
		return nil, &ParseError{Reason: "cannot render " + string(msg.ProtoReflect().Descriptor().FullName()) + ": " + err.Error()}
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, &ParseError{Reason: "cannot render " + string(msg.ProtoReflect().Descriptor().FullName()) + ": " + err.Error()}
	}
	return out, nil
}

// renderMaxDepth bounds the nesting the renderer handles itself; deeper
// values take the JSON way, whose decoder has its own limit.
const renderMaxDepth = 1000

// renderer builds the value encoding/json decodes from protojson's
// output: objects are map[string]any, lists []any, numbers float64 (64-bit
// integers are strings). Its methods return ok false where protojson would
// fail or where the renderer does not reproduce protojson (extensions,
// FieldMask, MessageSets).
type renderer struct {
	anys  map[*anypb.Any]proto.Message
	depth int
}

func (r *renderer) message(m protoreflect.Message) (any, bool) {
	md := m.Descriptor()
	if name := string(md.FullName()); strings.HasPrefix(name, "google.protobuf.") {
		switch name {
		case wktAny:
			return r.anyMessage(m)
		case wktDuration, wktTimestamp:
			return renderText(m)
		case wktFieldMask:
			return nil, false
		case wktStruct:
			fd := md.Fields().ByNumber(1)
			return r.mapValue(m.Get(fd).Map(), fd)
		case wktListValue:
			fd := md.Fields().ByNumber(1)
			return r.list(m.Get(fd).List(), fd)
		case wktValue:
			fd := m.WhichOneof(md.Oneofs().ByName("kind"))
			if fd == nil {
				return nil, false
			}
			v := m.Get(fd)
			if fd.Kind() == protoreflect.DoubleKind && (math.IsNaN(v.Float()) || math.IsInf(v.Float(), 0)) {
				return nil, false
			}
			return r.singular(v, fd)
		}
		if isWKTWrapper(md.FullName()) {
			fd := md.Fields().ByNumber(1)
			return r.singular(m.Get(fd), fd)
		}
	}
	if ms, ok := md.(interface{ IsMessageSet() bool }); ok && ms.IsMessageSet() {
		return nil, false
	}
	return r.fields(m, "")
}

// fields renders the populated fields of m as an object, with "@type" when
// m is the content of an Any.
func (r *renderer) fields(m protoreflect.Message, typeURL string) (any, bool) {
	if r.depth++; r.depth > renderMaxDepth {
		return nil, false
	}
	defer func() { r.depth-- }()
	out := make(map[string]any)
	if typeURL != "" {
		out["@type"] = typeURL
	}
	ok := true
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.IsExtension() {
			ok = false
			return false
		}
		var x any
		switch {
		case fd.IsList():
			x, ok = r.list(v.List(), fd)
		case fd.IsMap():
			x, ok = r.mapValue(v.Map(), fd)
		default:
			x, ok = r.singular(v, fd)
		}
		out[fd.TextName()] = x
		return ok
	})
	return out, ok
}

func (r *renderer) list(l protoreflect.List, fd protoreflect.FieldDescriptor) (any, bool) {
	if r.depth++; r.depth > renderMaxDepth {
		return nil, false
	}
	defer func() { r.depth-- }()
	out := make([]any, l.Len())
	for i := range out {
		x, ok := r.singular(l.Get(i), fd)
		if !ok {
			return nil, false
		}
		out[i] = x
	}
	return out, true
}

func (r *renderer) mapValue(mv protoreflect.Map, fd protoreflect.FieldDescriptor) (any, bool) {
	if r.depth++; r.depth > renderMaxDepth {
		return nil, false
	}
	defer func() { r.depth-- }()
	out := make(map[string]any, mv.Len())
	vd := fd.MapValue()
	ok := true
	mv.Range(func(k protoreflect.MapKey, v protoreflect.Value) bool {
		key := k.String()
		if !utf8.ValidString(key) {
			ok = false
			return false
		}
		var x any
		x, ok = r.singular(v, vd)
		out[key] = x
		return ok
	})
	return out, ok
}

// singular renders one value of fd's type as protojson writes it.
func (r *renderer) singular(v protoreflect.Value, fd protoreflect.FieldDescriptor) (any, bool) {
	switch fd.Kind() {
	case protoreflect.BoolKind:
		return v.Bool(), true
	case protoreflect.StringKind:
		s := v.String()
		return s, utf8.ValidString(s)
	case protoreflect.Int32Kind, protoreflect.Sint32Kind, protoreflect.Sfixed32Kind:
		return float64(v.Int()), true
	case protoreflect.Uint32Kind, protoreflect.Fixed32Kind:
		return float64(v.Uint()), true
	case protoreflect.Int64Kind, protoreflect.Sint64Kind, protoreflect.Sfixed64Kind:
		return strconv.FormatInt(v.Int(), 10), true
	case protoreflect.Uint64Kind, protoreflect.Fixed64Kind:
		return strconv.FormatUint(v.Uint(), 10), true
	case protoreflect.FloatKind, protoreflect.DoubleKind:
		f := v.Float()
		switch {
		case math.IsNaN(f):
			return "NaN", true
		case math.IsInf(f, 1):
			return "Infinity", true
		case math.IsInf(f, -1):
			return "-Infinity", true
		}
		if fd.Kind() == protoreflect.FloatKind {
			// protojson writes the shortest text that reads back as the
			// float32, and the decoder reads that text as a float64:
			// strconv does both.
			f, _ = strconv.ParseFloat(strconv.FormatFloat(f, 'g', -1, 32), 64)
		}
		return f, true
	case protoreflect.BytesKind:
		return base64.StdEncoding.EncodeToString(v.Bytes()), true
	case protoreflect.EnumKind:
		if fd.Enum().FullName() == wktNullValue {
			return nil, true
		}
		if ev := fd.Enum().Values().ByNumber(v.Enum()); ev != nil {
			return string(ev.Name()), true
		}
		return float64(v.Enum()), true
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return r.message(v.Message())
	}
	return nil, false
}

// anyMessage renders an Any as protojson does: "@type" beside the fields of
// the message it holds, or beside "value" for a type with its own JSON form.
func (r *renderer) anyMessage(m protoreflect.Message) (any, bool) {
	fds := m.Descriptor().Fields()
	typeURL, value := m.Get(fds.ByNumber(1)).String(), m.Get(fds.ByNumber(2)).Bytes()
	if typeURL == "" {
		if len(value) == 0 {
			return map[string]any{}, true
		}
		return nil, false
	}
	if !utf8.ValidString(typeURL) {
		return nil, false
	}
	a, _ := m.Interface().(*anypb.Any)
	inner, ok := r.anys[a]
	if !ok {
		mt, err := resolver{}.FindMessageByURL(typeURL)
		if err != nil {
			return nil, false
		}
		inner = mt.New().Interface()
		if err := (proto.UnmarshalOptions{AllowPartial: true, Resolver: resolver{}}).Unmarshal(value, inner); err != nil {
			return nil, false
		}
	}
	im := inner.ProtoReflect()
	if name := im.Descriptor().FullName(); wktHasCustomJSON(name) && name != wktEmpty {
		if r.depth++; r.depth > renderMaxDepth {
			return nil, false
		}
		defer func() { r.depth-- }()
		v, ok := r.message(im)
		return map[string]any{"@type": typeURL, "value": v}, ok
	}
	if ms, ok := im.Descriptor().(interface{ IsMessageSet() bool }); ok && ms.IsMessageSet() {
		return nil, false
	}
	return r.fields(im, typeURL)
}

// renderText renders a Duration or a Timestamp, whose JSON form is a
// string, by asking protojson for it: false where protojson refuses the
// value (out of range).
func renderText(m protoreflect.Message) (any, bool) {
	b, err := protojson.Marshal(m.Interface())
	if err != nil {
		return nil, false
	}
	var s string
	if json.Unmarshal(b, &s) != nil {
		return nil, false
	}
	return s, true
}
