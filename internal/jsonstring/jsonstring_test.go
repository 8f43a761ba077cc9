package jsonstring

import (
	"bytes"
	"encoding/json"
	"testing"
)

var odd = []string{"", "plain", "quote \" backslash \\ slash /", "<html> & more", "tab\tnl\ncr\rbs\bff\f",
	"ctl \x00\x01\x1f\x7f", "héllo ✓ \U0001F600", "bad \xff\xfe utf8 \xc3", "sep \u2028 \u2029", "é\xe2\x80"}

func TestAppendIsEncodingJSON(t *testing.T) {
	for _, s := range odd {
		checkAgrees(t, s)
	}
}

// FuzzAppendAgreesWithEncodingJSON holds Append to json.Marshal's quoting
// on any string.
func FuzzAppendAgreesWithEncodingJSON(f *testing.F) {
	for _, s := range odd {
		f.Add(s)
	}
	f.Fuzz(checkAgrees)
}

func checkAgrees(t *testing.T, s string) {
	want, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if got := Append([]byte("x"), s); !bytes.Equal(got, append([]byte("x"), want...)) {
		t.Errorf("Append(%q) = %s, encoding/json: %s", s, got[1:], want)
	}
}
