// Package inject applies inzone's admission mutations to Kubernetes
// manifests offline, the way `istioctl kube-inject` does for Istio, so a
// GitOps repository can commit the mutated form. It is pure: bytes in, bytes
// out, no disk and no API server.
//
// Every Pod and every pod template (each workload kind of package workload:
// Deployment, StatefulSet, DaemonSet, ReplicaSet, ReplicationController,
// Job, CronJob; also inside a `kind: List`) goes through the same
// [mutate.Engine] as the webhook, and the engine's JSON patch is applied to
// the manifest. Everything else passes through unchanged:
//
//   - A document that needs no change is copied from the input byte for byte
//     (comments, key order, quoting, blank lines, `---` lines). So is every
//     document that is not a workload, and running inject on its own output
//     changes nothing.
//   - A document that changes is edited at the yaml.v3 node level: existing
//     nodes keep their comments and styles, new keys are appended, sequences
//     of named items (containers, env) are matched by name. The original
//     and the edited tree are both encoded with yaml.v3 (2-space indentation
//     unless the document mostly uses another width; sequences at or under
//     their key as the document mostly has them), and only the lines that
//     differ between the two encodings are spliced into the original text,
//     shifted to its indentation. Blank lines, comment spacing, folded
//     scalars and the layout of every untouched line survive. The splice is
//     checked by parsing it back; when it does not mean exactly the edited
//     tree, the whole re-encoded document is written instead.
//   - Anchors and aliases outside what changes stay. When the edited part
//     defines an anchor (or is reached through an alias), the document is
//     expanded first, so the edit cannot leak elsewhere through an alias.
//   - A JSON document that changes is written back as JSON, indented like the
//     input, so a .json file stays JSON. (YAML would be valid too, since
//     YAML is a superset of JSON, but it would surprise tools reading the
//     file as JSON.)
package inject

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/inzone-io/inzone/internal/yamldoc"
	"github.com/inzone-io/inzone/mutate"
)

// Report is what inject did to one Pod or pod template.
type Report struct {
	// Document is the 1-based index of the object's document in the stream,
	// counting only documents with content (not comment-only ones).
	Document int
	// APIVersion, Kind, Namespace and Name identify the object (for a pod
	// template, its workload). Namespace is "" when the manifest sets none.
	APIVersion, Kind, Namespace, Name string
	// Applied lists the mutations that changed the object, in the order
	// the engine runs them (mutate.MutationNames).
	Applied []string
	// Skips are the mutations not applied and why, in the same order (a
	// skip of the whole pod, with no Mutation, alone).
	Skips []mutate.Skip
	// Warnings are for the user, without the engine's "inzone: " prefix.
	Warnings []string
}

// Object names the object as "Kind namespace/name" or "Kind name".
func (r *Report) Object() string {
	return objectName(r.Kind, r.Namespace, r.Name)
}

func objectName(kind, namespace, name string) string {
	if namespace == "" {
		return kind + " " + name
	}
	return kind + " " + namespace + "/" + name
}

// Error is a document inject could not process. Nothing is written when
// Manifests returns one.
type Error struct {
	// Document is the 1-based index of the document, as in Report.
	Document int
	// Line is the 1-based line in the stream, 0 when unknown.
	Line int
	// Object names the object ("Deployment shop/web"); "" when the document
	// does not parse.
	Object string
	Err    error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "document %d", e.Document)
	if e.Line > 0 {
		fmt.Fprintf(&b, ", line %d", e.Line)
	}
	if e.Object != "" {
		b.WriteString(": " + e.Object)
	}
	b.WriteString(": " + e.Err.Error())
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// defaultNamespace is what kubectl applies an object without a namespace to
// when the context names none; the engine needs some namespace for
// {namespace} in DDSD names.
const defaultNamespace = "default"

// Manifests applies e's mutations to every Pod and every pod template in a
// YAML stream (one or more documents; JSON too; `kind: List` items too) and
// returns the stream with everything else unchanged. On error it returns no
// output at all.
func Manifests(data []byte, e *mutate.Engine) (out []byte, reports []Report, err error) {
	if e == nil {
		return nil, nil, errors.New("inject: nil engine")
	}
	var buf bytes.Buffer
	buf.Grow(len(data))
	doc := 0
	for _, seg := range yamldoc.SplitAtMarkers(data) {
		c := chunk{text: seg.Text, line: seg.Line + 1}
		if isEmptyChunk(c.text) {
			buf.Write(c.text)
			continue
		}
		doc++
		text, reps, err := processChunk(c, doc, e)
		if err != nil {
			return nil, nil, err
		}
		reports = append(reports, reps...)
		buf.Write(text)
	}
	return buf.Bytes(), reports, nil
}

// chunk is one document's original text (yamldoc.SplitAtMarkers), from
// its "---" line (or the start of the stream) up to the next "---" line, or
// through its "..." line.
type chunk struct {
	text []byte
	line int // 1-based line of text's first line in the stream
}

// isEmptyChunk reports a chunk without content: blank lines, comments,
// directives and bare markers only.
func isEmptyChunk(text []byte) bool {
	for _, l := range bytes.Split(text, []byte("\n")) {
		t := bytes.TrimSpace(l)
		switch {
		case len(t) == 0 || t[0] == '#' || t[0] == '%':
		case yamldoc.IsMarker(t, '-') || yamldoc.IsMarker(t, '.'):
			if rest := bytes.TrimSpace(t[3:]); len(rest) > 0 && rest[0] != '#' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// document is one parsed document being processed.
type document struct {
	index int
	line  int // stream line of the chunk's first line
	root  *yaml.Node
	e     *mutate.Engine

	reports []Report
	changed bool
}

// abs turns a line of the chunk into a line of the stream.
func (d *document) abs(line int) int {
	if line <= 0 {
		return 0
	}
	return d.line + line - 1
}

func processChunk(c chunk, index int, e *mutate.Engine) ([]byte, []Report, error) {
	text := c.text
	crlf := bytes.Contains(text, []byte("\r\n"))
	if crlf {
		text = bytes.ReplaceAll(text, []byte("\r\n"), []byte("\n"))
	}
	root, err := parseDocument(text)
	if errors.Is(err, yamldoc.ErrTooManyValues) {
		return nil, nil, &Error{Document: index, Line: c.line, Err: err}
	}
	if err != nil {
		return nil, nil, parseError(err, index, c.line, text)
	}
	if root == nil {
		return c.text, nil, nil
	}
	d := &document{index: index, line: c.line, root: root, e: e}
	ws := collect(root.Content[0], nil)
	if slices.ContainsFunc(ws, func(w workload) bool { return w.shared }) {
		// An edit in place would also change what aliases elsewhere point
		// to, so the document is expanded first (visible only if it changes).
		root.Content[0] = materialize(root.Content[0])
		ws = collect(root.Content[0], nil)
	}
	for _, w := range ws {
		if err := d.mutate(w); err != nil {
			return nil, nil, err
		}
	}
	if !d.changed {
		return c.text, d.reports, nil
	}
	out, err := d.render(text)
	if err != nil {
		return nil, nil, &Error{Document: index, Line: c.line, Err: err}
	}
	if crlf {
		out = bytes.ReplaceAll(out, []byte("\n"), []byte("\r\n"))
	}
	return out, d.reports, nil
}

// parseDocument parses one chunk; nil when it holds no document.
func parseDocument(text []byte) (*yaml.Node, error) {
	dec := yaml.NewDecoder(bytes.NewReader(text))
	var n yaml.Node
	if err := dec.Decode(&n); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil
		}
		return nil, err
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, err
		}
		return nil, errors.New("more than one document without a --- separator")
	}
	if n.Kind != yaml.DocumentNode || len(n.Content) == 0 {
		return nil, nil
	}
	// Before anything expands an alias (materialize, toValue).
	if err := yamldoc.Check(&n, yamldoc.Budget(len(text))); err != nil {
		return nil, err
	}
	return &n, nil
}

// parseError makes a yaml.v3 error name its document and its line in the
// stream: the line yamldoc.ErrorLine puts it on in the document's text
// (lint's too), moved by the line the document starts on.
func parseError(err error, index, chunkLine int, text []byte) *Error {
	line, msg := yamldoc.ErrorLine(err, text)
	msg = strings.TrimPrefix(msg, "yaml: ")
	if line == 0 {
		return &Error{Document: index, Line: chunkLine, Err: errors.New(msg)}
	}
	msg = strings.TrimPrefix(msg, "line "+strconv.Itoa(line)+": ")
	return &Error{Document: index, Line: chunkLine + line - 1, Err: errors.New(msg)}
}
