package report

import (
	"strconv"

	"github.com/inzone-io/inzone/internal/jsonstring"
)

// appendReportJSON appends rep as encoding/json's Encoder with
// SetIndent("", "  ") writes it, byte for byte (TestReportJSONIsEncodingJSON),
// without reflection: a large report took tens of milliseconds the other way.
// A nil list is written [], as an empty one: the output's contract is that
// "findings" and "errors" are always arrays, never null.
func appendReportJSON(b []byte, rep *Results) []byte {
	b = append(b, "{\n  \"findings\": "...)
	b = appendList(b, len(rep.Findings), func(b []byte, i int) []byte {
		f := &rep.Findings[i]
		b = append(b, "\n    {\n      \"rule\": "...)
		b = jsonstring.Append(b, f.Rule)
		b = append(b, ",\n      \"severity\": "...)
		b = jsonstring.Append(b, string(f.Severity))
		b = append(b, ",\n      \"file\": "...)
		b = jsonstring.Append(b, f.File)
		b = append(b, ",\n      \"line\": "...)
		b = strconv.AppendInt(b, int64(f.Line), 10)
		b = append(b, ",\n      \"column\": "...)
		b = strconv.AppendInt(b, int64(f.Column), 10)
		b = append(b, ",\n      \"object\": {"...)
		n := 0
		for _, kv := range [4][2]string{{"apiVersion", f.Object.APIVersion}, {"kind", f.Object.Kind}, {"namespace", f.Object.Namespace}, {"name", f.Object.Name}} {
			if kv[1] == "" {
				continue
			}
			if n > 0 {
				b = append(b, ',')
			}
			n++
			b = append(b, "\n        \""...)
			b = append(b, kv[0]...)
			b = append(b, "\": "...)
			b = jsonstring.Append(b, kv[1])
		}
		if n > 0 {
			b = append(b, "\n      "...)
		}
		b = append(b, "},\n      \"message\": "...)
		b = jsonstring.Append(b, f.Message)
		b = append(b, ",\n      \"hint\": "...)
		b = jsonstring.Append(b, f.Hint)
		return append(b, "\n    }"...)
	})
	b = append(b, ",\n  \"errors\": "...)
	b = appendList(b, len(rep.Errors), func(b []byte, i int) []byte {
		e := &rep.Errors[i]
		b = append(b, "\n    {\n      \"file\": "...)
		b = jsonstring.Append(b, e.File)
		if e.Line != 0 {
			b = append(b, ",\n      \"line\": "...)
			b = strconv.AppendInt(b, int64(e.Line), 10)
		}
		if e.Column != 0 {
			b = append(b, ",\n      \"column\": "...)
			b = strconv.AppendInt(b, int64(e.Column), 10)
		}
		b = append(b, ",\n      \"message\": "...)
		b = jsonstring.Append(b, e.Message)
		return append(b, "\n    }"...)
	})
	return append(b, "\n}\n"...)
}

// appendList appends a list of n elements, one level inside the report,
// as the indenting encoder writes it: [] when empty, else the elements
// (elem appends element i, from its newline on) between brackets, the
// closing one on its own line.
func appendList(b []byte, n int, elem func(b []byte, i int) []byte) []byte {
	if n == 0 {
		return append(b, "[]"...)
	}
	b = append(b, '[')
	for i := range n {
		if i > 0 {
			b = append(b, ',')
		}
		b = elem(b, i)
	}
	return append(b, "\n  ]"...)
}

// reportJSONSize is about the size of rep's JSON, a little over for a
// report of plain text: the buffer is allocated once, not grown.
func reportJSONSize(rep *Results) int {
	n := 64
	for i := range rep.Findings {
		f := &rep.Findings[i]
		n += 260 + len(f.Rule) + len(f.Severity) + len(f.File) + len(f.Object.APIVersion) + len(f.Object.Kind) +
			len(f.Object.Namespace) + len(f.Object.Name) + len(f.Message) + len(f.Hint)
	}
	for i := range rep.Errors {
		n += 100 + len(rep.Errors[i].File) + len(rep.Errors[i].Message)
	}
	return n
}
