package inject

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/inzone-io/inzone/internal/yamldoc"
)

// render writes the changed document: the original text with the edit's
// lines spliced in, or the whole re-encoded document when the splice would
// not mean the same.
func (d *document) render(text []byte) ([]byte, error) {
	pristine, err := parseDocument(text)
	if err != nil || pristine == nil {
		return nil, fmt.Errorf("re-reading the document: %v", err)
	}
	body := text
	preamble := []byte(nil)
	if first, _, _ := bytes.Cut(text, []byte("\n")); yamldoc.IsMarker(first, '-') {
		preamble = []byte("---\n")
		body = text[min(len(first)+1, len(text)):]
	}
	var before, after []byte
	if indent, ok := jsonLayout(body); ok {
		if before, err = encodeJSON(pristine, indent); err == nil {
			after, err = encodeJSON(d.root, indent)
		}
	} else {
		indent, compact := layout(pristine)
		if before, err = encodeYAML(pristine, indent, compact); err == nil {
			after, err = encodeYAML(d.root, indent, compact)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("encoding the mutated document: %w", err)
	}
	want, err := toValue(d.root)
	if err != nil {
		return nil, err
	}
	means := func(out []byte) bool {
		n, err := parseDocument(out)
		if err != nil || n == nil {
			return false
		}
		got, err := toValue(n)
		return err == nil && reflect.DeepEqual(got, want)
	}
	if out, ok := splice(text, before, after); ok && means(out) {
		return out, nil
	}
	out := append(preamble, after...)
	if !means(out) {
		return nil, errors.New("inject: internal error: the re-encoded document does not read back the same")
	}
	return out, nil
}

func encodeYAML(root *yaml.Node, indent int, compact bool) ([]byte, error) {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(indent)
	if compact {
		enc.CompactSeqIndent()
	}
	if err := enc.Encode(root); err != nil {
		return nil, err
	}
	if err := enc.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// layout reads how a document is indented: the indentation of nested
// mappings (2 unless the document mostly uses another width), and whether
// block sequences mostly sit at their key's indentation (kubectl's style, and
// the choice when there are none) rather than indented under it.
func layout(n *yaml.Node) (indent int, compact bool) {
	widths := map[int]int{}
	compactN, indentedN := 0, 0
	var walk func(*yaml.Node)
	walk = func(n *yaml.Node) {
		if n.Kind == yaml.MappingNode {
			for i := 0; i+1 < len(n.Content); i += 2 {
				k, v := n.Content[i], n.Content[i+1]
				if v.Style&yaml.FlowStyle != 0 || len(v.Content) == 0 || v.Line <= k.Line {
					continue
				}
				switch v.Kind {
				case yaml.MappingNode:
					widths[v.Column-k.Column]++
				case yaml.SequenceNode:
					if v.Column == k.Column {
						compactN++
					} else {
						indentedN++
					}
				}
			}
		}
		for _, c := range n.Content {
			walk(c)
		}
	}
	walk(n)
	indent = 2
	for w, c := range widths {
		if w >= 2 && w <= 9 && (c > widths[indent] || c == widths[indent] && w < indent) {
			indent = w
		}
	}
	return indent, compactN >= indentedN
}

// jsonLayout reports a JSON document and the indentation of its nested lines
// ("" when it is on one line).
func jsonLayout(body []byte) (string, bool) {
	t := bytes.TrimSpace(body)
	if len(t) == 0 || (t[0] != '{' && t[0] != '[') || !json.Valid(t) {
		return "", false
	}
	lines := strings.Split(string(t), "\n")
	for _, l := range lines[1:] {
		if trimmed := strings.TrimLeft(l, " \t"); len(trimmed) < len(l) && trimmed != "" {
			return l[:len(l)-len(trimmed)], true
		}
	}
	if len(lines) > 1 {
		return "  ", true
	}
	return "", true
}

// encodeJSON writes a document as JSON with its keys in document order.
func encodeJSON(root *yaml.Node, indent string) ([]byte, error) {
	var b bytes.Buffer
	if err := writeJSON(&b, root); err != nil {
		return nil, err
	}
	if indent == "" {
		b.WriteByte('\n')
		return b.Bytes(), nil
	}
	var out bytes.Buffer
	if err := json.Indent(&out, b.Bytes(), "", indent); err != nil {
		return nil, err
	}
	out.WriteByte('\n')
	return out.Bytes(), nil
}

func writeJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			b.WriteString("null")
			return nil
		}
		return writeJSON(b, n.Content[0])
	case yaml.AliasNode:
		return writeJSON(b, n.Alias)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			if i > 0 {
				b.WriteByte(',')
			}
			writeJSONString(b, n.Content[i].Value)
			b.WriteByte(':')
			if err := writeJSON(b, n.Content[i+1]); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := writeJSON(b, c); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		v, err := yamldoc.Scalar(n)
		if err != nil {
			return err
		}
		switch v := v.(type) {
		case nil:
			b.WriteString("null")
		case bool:
			b.WriteString(strconv.FormatBool(v))
		case int64, float64:
			if jsonNumberRE.MatchString(n.Value) {
				b.WriteString(n.Value) // as written
				break
			}
			num, err := json.Marshal(v)
			if err != nil {
				return err
			}
			b.Write(num)
		case string:
			writeJSONString(b, v)
		}
	}
	return nil
}

// jsonNumberRE matches a number as JSON writes it.
var jsonNumberRE = regexp.MustCompile(`^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$`)

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}
