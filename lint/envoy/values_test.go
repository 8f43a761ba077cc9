package envoy

import (
	"bytes"
	"testing"
)

// TestDecodeBase64: the four spellings protobuf's JSON accepts for bytes,
// and what it refuses.
func TestDecodeBase64(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []byte // nil: refused
	}{
		{"standard padded base64 decodes", "+/8=", []byte{0xfb, 0xff}},
		{"standard base64 without padding decodes", "+/8", []byte{0xfb, 0xff}},
		{"URL-safe padded base64 decodes", "-_8=", []byte{0xfb, 0xff}},
		{"URL-safe base64 without padding decodes", "-_8", []byte{0xfb, 0xff}},
		{"the empty string is no bytes", "", []byte{}},
		{"a character of neither alphabet is refused", "ab$d", nil},
		{"mixed alphabets are refused", "+_8=", nil},
		{"a lone character is refused", "a", nil},
		{"a quote and a backslash are refused, not read as JSON", `"\`, nil},
		{"invalid UTF-8 is refused", "\xff\xfe==", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := decodeBase64(tt.in)
			if ok != (tt.want != nil) || !bytes.Equal(got, tt.want) {
				t.Errorf("decodeBase64(%q) = %x, %v; want %x, %v", tt.in, got, ok, tt.want, tt.want != nil)
			}
		})
	}
}
