package envoy

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/wrapperspb"
)

// asObject returns v as a map with string keys.
func asObject(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, x := range m {
			out[fmt.Sprint(k)] = x
		}
		return out, true
	}
	return nil, false
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendPath(path []any, seg any) []any {
	out := make([]any, len(path), len(path)+1)
	copy(out, path)
	return append(out, seg)
}

// describe names the type of a decoded value for messages.
func describe(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return strconv.Quote(x)
	case bool:
		return strconv.FormatBool(x)
	case []any:
		return "a list"
	case map[string]any, map[any]any:
		return "an object"
	}
	if text, ok := integerText(v); ok {
		return text
	}
	if f, ok := asFloat(v); ok {
		return strconv.FormatFloat(f, 'g', -1, 64)
	}
	return fmt.Sprintf("%T", v)
}

// asBool accepts booleans and the strings Envoy's parser takes for them.
func asBool(v any) (bool, bool) {
	switch x := v.(type) {
	case bool:
		return x, true
	case string:
		switch strings.ToLower(x) {
		case "true", "t", "yes", "y", "1", "on":
			return true, true
		case "false", "f", "no", "n", "0", "off":
			return false, true
		}
	}
	return false, false
}

// asString accepts strings, and numbers and booleans as their text: YAML
// makes `value: 1` a number where the field is a string.
func asString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	}
	if text, ok := integerText(v); ok {
		return text, true
	}
	if f, ok := asFloat(v); ok && !math.IsNaN(f) && !math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, 64), true
	}
	return "", false
}

// integerText returns v, an integer, an integral float or a string holding
// an integer, as decimal text.
func integerText(v any) (string, bool) {
	switch x := v.(type) {
	case int:
		return strconv.FormatInt(int64(x), 10), true
	case int8:
		return strconv.FormatInt(int64(x), 10), true
	case int16:
		return strconv.FormatInt(int64(x), 10), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case int64:
		return strconv.FormatInt(x, 10), true
	case uint:
		return strconv.FormatUint(uint64(x), 10), true
	case uint8:
		return strconv.FormatUint(uint64(x), 10), true
	case uint16:
		return strconv.FormatUint(uint64(x), 10), true
	case uint32:
		return strconv.FormatUint(uint64(x), 10), true
	case uint64:
		return strconv.FormatUint(x, 10), true
	case float32:
		return integerText(float64(x))
	case float64:
		if math.IsNaN(x) || math.IsInf(x, 0) || x != math.Trunc(x) {
			return "", false
		}
		return strconv.FormatFloat(x, 'f', -1, 64), true
	case json.Number:
		return integerText(string(x))
	case string:
		s := strings.TrimPrefix(x, "+")
		if _, err := strconv.ParseInt(s, 10, 64); err == nil {
			return s, true
		}
		if _, err := strconv.ParseUint(s, 10, 64); err == nil {
			return s, true
		}
		// Too big for 64 bits: still an integer, reported out of range.
		if t := strings.TrimPrefix(s, "-"); t != "" && strings.Trim(t, "0123456789") == "" {
			return s, true
		}
	}
	return "", false
}

// asFloat returns v, a number or a string holding one ("NaN",
// "Infinity" and "-Infinity" included), as a float64.
func asFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int8:
		return float64(x), true
	case int16:
		return float64(x), true
	case int32:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint:
		return float64(x), true
	case uint8:
		return float64(x), true
	case uint16:
		return float64(x), true
	case uint32:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		return asFloat(string(x))
	case string:
		switch x {
		case "NaN":
			return math.NaN(), true
		case "Infinity":
			return math.Inf(1), true
		case "-Infinity":
			return math.Inf(-1), true
		}
		f, err := strconv.ParseFloat(x, 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
			return 0, false
		}
		return f, true
	}
	return 0, false
}

// appendJSONFloat writes f for protojson to read: a JSON number in
// strconv's shortest form, or the string proto3's JSON mapping gives NaN
// and the infinities.
func appendJSONFloat(b []byte, f float64) []byte {
	switch {
	case math.IsNaN(f):
		return append(b, `"NaN"`...)
	case math.IsInf(f, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(f, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, f, 'g', -1, 64)
}

// decodeBase64 decodes s as protobuf's JSON reads a bytes field (standard
// or URL-safe alphabet, padded or not), by asking protojson itself.
func decodeBase64(s string) ([]byte, bool) {
	var v wrapperspb.BytesValue
	if protojson.Unmarshal(appendJSONString(nil, s), &v) != nil {
		return nil, false
	}
	return v.GetValue(), true
}

// appendJSONString appends s as a JSON string, as encoding/json writes it.
func appendJSONString(b []byte, s string) []byte {
	q, _ := json.Marshal(s) // a string always marshals
	return append(b, q...)
}
