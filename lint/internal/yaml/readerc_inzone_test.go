package yaml

import (
	"bytes"
	"strings"
	"testing"
	"unicode/utf8"
)

// decodesCleanly reads in through the decoding loop of
// yaml_parser_update_buffer, as upstream does, and reports whether every
// character passed.
func decodesCleanly(in []byte) bool {
	var p yaml_parser_t
	yaml_parser_initialize(&p)
	yaml_parser_set_input_reader(&p, bytes.NewReader(in))
	for {
		if p.unread < 1 && !yaml_parser_update_buffer(&p, 1) {
			return false
		}
		if p.buffer[p.buffer_pos] == 0 {
			return true // the NUL that ends the stream: input NULs are errors
		}
		p.buffer_pos += width(p.buffer[p.buffer_pos])
		p.unread--
	}
}

// The input is the buffer exactly when upstream's decoding would accept
// all of it, in which case it is the same characters.
func TestReadInputAtOnceAgreesWithDecoding(t *testing.T) {
	var inputs [][]byte
	pad := []byte(strings.Repeat("ab: c\n", 4))
	seqs := [][]byte{
		[]byte("\xc2\x85"), []byte("\xc2\xa0"), []byte("\xc2\x80"), []byte("\xc2"),
		[]byte("\xed\x9f\xbf"), []byte("\xed\xa0\x80"), []byte("\xee\x80\x80"),
		[]byte("\xef\xbf\xbd"), []byte("\xef\xbf\xbe"), []byte("\xef\xbb\xbf"),
		[]byte("\xf0\x90\x80\x80"), []byte("\xf4\x8f\xbf\xbf"), []byte("\xf4\x90\x80\x80"),
		[]byte("\xc0\xaf"), []byte("\xe0\x80\xaf"), []byte("\xf0\x80\x80\xaf"), []byte("\xe2\x82"),
		[]byte("\r\n"), []byte("\t"), []byte("é✓\U0001F600"),
	}
	for b := 0; b < 256; b++ {
		seqs = append(seqs, []byte{byte(b)})
	}
	for _, seq := range seqs {
		for pos := 0; pos <= 17; pos++ {
			in := append(append(append([]byte(nil), pad[:pos]...), seq...), pad[pos:]...)
			inputs = append(inputs, in, in[:pos+len(seq)], append([]byte(bom_UTF8), in...))
		}
	}
	inputs = append(inputs, nil, []byte(bom_UTF8), []byte(bom_UTF16LE+"a\x00"), []byte(bom_UTF16BE+"\x00a"))
	for _, in := range inputs {
		var p yaml_parser_t
		yaml_parser_initialize(&p)
		yaml_parser_set_input_string(&p, in)
		fast := yaml_parser_read_input_at_once(&p)
		utf16 := bytes.HasPrefix(in, []byte(bom_UTF16LE)) || bytes.HasPrefix(in, []byte(bom_UTF16BE))
		if want := decodesCleanly(in) && !utf16; fast != want {
			t.Fatalf("%q: read at once %v, decoding accepts (and not UTF-16) %v", in, fast, want)
		}
		if !fast {
			continue
		}
		text := bytes.TrimPrefix(in, []byte(bom_UTF8))
		if !bytes.Equal(p.buffer, text) || p.unread != utf8.RuneCount(text) || p.encoding != yaml_UTF8_ENCODING {
			t.Fatalf("%q: buffer %q with %d characters, encoding %v", in, p.buffer, p.unread, p.encoding)
		}
	}
}
