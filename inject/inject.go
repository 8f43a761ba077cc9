// Package inject applies inzone's admission mutations to Kubernetes
// manifests offline, the way `istioctl kube-inject` does for Istio, so a
// GitOps repository can commit the mutated form. It is pure: bytes in, bytes
// out, no disk and no API server.
//
// Every Pod and every pod template (Deployment, StatefulSet, DaemonSet,
// ReplicaSet, Job, CronJob, also inside a `kind: List`) goes through the same
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
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/inzone-io/inzone/internal/yamlvalue"
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
	// sidecar, zone-env, spread, ddsd-rewrite.
	Applied []string
	// Skips are the mutations not applied and why, in the same order (a
	// skip of the whole pod, with no Mutation, first).
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
	for _, c := range splitDocuments(data) {
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

// chunk is one document's original text: from its `---` line (or the start
// of the stream) up to the next `---` line, or through its `...` line.
type chunk struct {
	text []byte
	line int // 1-based line of text's first line in the stream
}

// splitDocuments splits a stream at its document markers, keeping every
// byte: the chunks concatenate back to data. A `---` or `...` at the start of
// a line always is a marker (YAML forbids it inside any scalar).
func splitDocuments(data []byte) []chunk {
	var chunks []chunk
	start, startLine, line := 0, 1, 1
	for i := 0; i < len(data); {
		next := len(data)
		if j := bytes.IndexByte(data[i:], '\n'); j >= 0 {
			next = i + j + 1
		}
		l := data[i:next]
		if isMarker(l, "---") && i > start {
			chunks = append(chunks, chunk{data[start:i], startLine})
			start, startLine = i, line
		}
		line++
		i = next
		if isMarker(l, "...") {
			chunks = append(chunks, chunk{data[start:next], startLine})
			start, startLine = next, line
		}
	}
	if start < len(data) {
		chunks = append(chunks, chunk{data[start:], startLine})
	}
	return chunks
}

func isMarker(l []byte, m string) bool {
	return bytes.HasPrefix(l, []byte(m)) && (len(l) == len(m) || strings.IndexByte(" \t\r\n", l[len(m)]) >= 0)
}

// isEmptyChunk reports a chunk without content: blank lines, comments,
// directives and bare markers only.
func isEmptyChunk(text []byte) bool {
	for _, l := range bytes.Split(text, []byte("\n")) {
		t := bytes.TrimSpace(l)
		switch {
		case len(t) == 0 || t[0] == '#' || t[0] == '%':
		case isMarker(t, "---") || isMarker(t, "..."):
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
	if errors.Is(err, yamlvalue.ErrTooManyValues) {
		return nil, nil, &Error{Document: index, Line: c.line, Err: err}
	}
	if err != nil {
		return nil, nil, parseError(err, index, c.line)
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
	if err := yamlvalue.Check(&n, yamlvalue.Budget(len(text))); err != nil {
		return nil, err
	}
	return &n, nil
}

var lineRE = regexp.MustCompile(`\bline (\d+)`)

// parseError makes a yaml.v3 error name its document and its line in the
// stream rather than in the chunk.
func parseError(err error, index, chunkLine int) *Error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	first := 0
	msg = lineRE.ReplaceAllStringFunc(msg, func(s string) string {
		n, _ := strconv.Atoi(s[len("line "):])
		abs := chunkLine + n - 1
		if first == 0 {
			first = abs
		}
		return "line " + strconv.Itoa(abs)
	})
	if first > 0 {
		msg = strings.TrimPrefix(msg, "line "+strconv.Itoa(first)+": ")
	} else {
		first = chunkLine
	}
	return &Error{Document: index, Line: first, Err: errors.New(msg)}
}

// workload kinds by API group: where their pod template is.
var templatePaths = map[string]map[string][]string{
	"apps": {
		"Deployment":  {"spec", "template"},
		"StatefulSet": {"spec", "template"},
		"DaemonSet":   {"spec", "template"},
		"ReplicaSet":  {"spec", "template"},
	},
	"batch": {
		"Job":     {"spec", "template"},
		"CronJob": {"spec", "jobTemplate", "spec", "template"},
	},
}

// collect appends the workloads of obj (itself, or a List's items) to ws.
func collect(obj *yaml.Node, ws []workload) []workload {
	if obj.Kind != yaml.MappingNode {
		return ws
	}
	apiVersion, kind := scalarOf(get(obj, "apiVersion")), scalarOf(get(obj, "kind"))
	if kind == "List" {
		if items := get(obj, "items"); items != nil && items.Kind == yaml.SequenceNode {
			for _, it := range items.Content {
				ws = collect(it, ws)
			}
		}
		return ws
	}
	group := ""
	if i := strings.LastIndexByte(apiVersion, '/'); i >= 0 {
		group = apiVersion[:i]
	}
	meta := get(obj, "metadata")
	w := workload{
		obj: obj, target: obj, apiVersion: apiVersion, kind: kind,
		namespace: scalarOf(get(meta, "namespace")),
		name:      scalarOf(get(meta, "name")),
	}
	if w.name == "" {
		w.name = scalarOf(get(meta, "generateName"))
	}
	if group == "" && kind == "Pod" {
		w.isPod = true
	} else if path, ok := templatePaths[group][kind]; ok {
		for _, k := range path {
			if w.target = get(w.target, k); w.target == nil {
				break
			}
			if w.target.Kind == yaml.AliasNode {
				w.target, w.shared = w.target.Alias, true
			}
			w.shared = w.shared || w.target.Anchor != ""
		}
		if w.target == nil || w.target.Kind != yaml.MappingNode {
			// No template: the engine reports the pod without containers.
			w.target = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
		}
	} else {
		return ws
	}
	w.shared = w.shared || hasAnchors(get(w.target, "metadata")) || hasAnchors(get(w.target, "spec"))
	return append(ws, w)
}

// workload is one Pod or one pod template in a document.
type workload struct {
	obj                               *yaml.Node // the object: Pod, Deployment, ...
	target                            *yaml.Node // the pod (obj) or the pod template
	isPod                             bool
	apiVersion, kind, namespace, name string
	// shared is a target that defines anchors or is reached through one, so
	// editing it in place could change other places too.
	shared bool
}

func (w *workload) object() string { return objectName(w.kind, w.namespace, w.name) }

func (d *document) errorf(w *workload, n *yaml.Node, err error) *Error {
	line := 0
	if n != nil {
		line = d.abs(n.Line)
	}
	return &Error{Document: d.index, Line: line, Object: w.object(), Err: err}
}

// mutate runs the engine on one workload and writes its changes into the
// document's tree.
func (d *document) mutate(w workload) error {
	podDoc, err := d.podDocument(&w)
	if err != nil {
		return err
	}
	podJSON, err := json.Marshal(podDoc)
	if err != nil {
		return d.errorf(&w, w.target, err)
	}
	pod := &corev1.Pod{}
	// Case-sensitive, like the API server.
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(podJSON, pod); err != nil {
		what := "pod template"
		if w.isPod {
			what = "pod"
		}
		return d.errorf(&w, fieldNode(w.target, err), fmt.Errorf("cannot read the %s: %w", what, err))
	}
	nsName := w.namespace
	if nsName == "" {
		nsName = defaultNamespace
	}
	res, err := d.e.Mutate(pod, mutate.Namespace{Name: nsName})
	if err != nil {
		var ae *mutate.AnnotationError
		if errors.As(err, &ae) {
			return d.errorf(&w, annotationNode(w.target, ae.Annotation), err)
		}
		return d.errorf(&w, w.target, err)
	}
	r := Report{
		Document: d.index, APIVersion: w.apiVersion, Kind: w.kind, Namespace: w.namespace, Name: w.name,
		Applied: canonicalOrder(res.Applied), Skips: slices.Clone(res.Skips),
	}
	slices.SortStableFunc(r.Skips, func(a, b mutate.Skip) int {
		return slices.Index(mutationOrder, a.Mutation) - slices.Index(mutationOrder, b.Mutation)
	})
	for _, msg := range res.Warnings {
		r.Warnings = append(r.Warnings, strings.TrimPrefix(msg, "inzone: "))
	}
	if w.namespace == "" && strings.Contains(d.e.Config().DDSD.NameTemplate, "{namespace}") &&
		(slices.Contains(res.Applied, mutate.MutationSidecar) || slices.Contains(res.Applied, mutate.MutationDDSDRewrite)) {
		r.Warnings = append(r.Warnings, fmt.Sprintf(
			"the manifest sets no metadata.namespace and the DDSD name template uses {namespace}: names were rendered for namespace %q", defaultNamespace))
	}
	d.reports = append(d.reports, r)
	if len(res.Patch) == 0 {
		return nil
	}

	ops, err := json.Marshal(res.Patch)
	if err != nil {
		return d.errorf(&w, w.target, err)
	}
	patch, err := jsonpatch.DecodePatch(ops)
	if err != nil {
		return d.errorf(&w, w.target, fmt.Errorf("inzone produced an undecodable patch: %w", err))
	}
	// The patch goes onto the manifest's own fields rather than onto the
	// typed pod, so fields the typed pod would drop or normalise (unknown
	// fields, quantities, empty lists) stay as written.
	patched, err := patch.Apply(podJSON)
	if err != nil {
		return d.errorf(&w, w.target, fmt.Errorf("inzone produced a patch that does not apply: %w", err))
	}
	var src yaml.Node
	if err := yaml.Unmarshal(patched, &src); err != nil || len(src.Content) == 0 {
		return d.errorf(&w, w.target, fmt.Errorf("reading the patched pod: %v", err))
	}
	if err := writeBack(w.target, src.Content[0]); err != nil {
		return d.errorf(&w, w.target, err)
	}
	d.changed = true
	return nil
}

// podDocument builds the pod the engine sees, as JSON-ready values. For a
// pod template it adds what the live pod would have and the template does
// not: a namespace, a generateName (the engine leaves nameless pods to the
// API server) and, for a DaemonSet, the owner reference that makes the
// engine skip zone spread. Only labels, annotations and spec are written
// back, so these never reach the manifest.
func (d *document) podDocument(w *workload) (map[string]any, error) {
	if w.isPod {
		v, err := d.value(w, w.obj)
		if err != nil {
			return nil, err
		}
		m, _ := v.(map[string]any)
		return m, nil
	}
	meta := map[string]any{"generateName": w.name + "-"}
	if w.namespace != "" {
		meta["namespace"] = w.namespace
	}
	if w.kind == "DaemonSet" {
		meta["ownerReferences"] = []any{map[string]any{
			"apiVersion": w.apiVersion, "kind": w.kind, "name": w.name, "uid": "", "controller": true,
		}}
	}
	tm := get(w.target, "metadata")
	for _, k := range []string{"labels", "annotations"} {
		if n := get(tm, k); n != nil {
			v, err := d.value(w, n)
			if err != nil {
				return nil, err
			}
			meta[k] = v
		}
	}
	doc := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": meta}
	if n := get(w.target, "spec"); n != nil {
		v, err := d.value(w, n)
		if err != nil {
			return nil, err
		}
		doc["spec"] = v
	}
	return doc, nil
}

func (d *document) value(w *workload, n *yaml.Node) (any, error) {
	v, err := toValue(n)
	if err != nil {
		var ve *yamlvalue.Error
		if errors.As(err, &ve) {
			return nil, d.errorf(w, ve.Node, ve.Err)
		}
		return nil, d.errorf(w, n, err)
	}
	return v, nil
}

var fieldRE = regexp.MustCompile(`Go struct field \w+\.(\S+) of type`)

// fieldNode finds the field a JSON decoding error names ("Go struct field
// PodSpec.spec.containers of type ..."), as deep as the path can be
// followed; the pod's own fields and a template's have the same paths.
func fieldNode(target *yaml.Node, err error) *yaml.Node {
	m := fieldRE.FindStringSubmatch(err.Error())
	if m == nil {
		return target
	}
	n := target
	for _, seg := range strings.Split(m[1], ".") {
		next := get(n, seg)
		if next == nil {
			break
		}
		n = next
	}
	return n
}

// annotationNode finds an annotation's key in a pod or pod template.
func annotationNode(target *yaml.Node, key string) *yaml.Node {
	ann := get(get(target, "metadata"), "annotations")
	if ann != nil && ann.Kind == yaml.MappingNode {
		for i := 0; i+1 < len(ann.Content); i += 2 {
			if ann.Content[i].Value == key {
				return ann.Content[i]
			}
		}
	}
	if m := get(target, "metadata"); m != nil {
		return m
	}
	return target
}

var mutationOrder = []string{mutate.MutationSidecar, mutate.MutationZoneEnv, mutate.MutationSpread, mutate.MutationDDSDRewrite}

func canonicalOrder(applied []string) []string {
	if len(applied) == 0 {
		return nil
	}
	out := make([]string, 0, len(applied))
	for _, m := range mutationOrder {
		if slices.Contains(applied, m) {
			out = append(out, m)
		}
	}
	for _, m := range applied {
		if !slices.Contains(out, m) {
			out = append(out, m)
		}
	}
	return out
}

// writeBack merges the patched pod's labels, annotations and spec into the
// target (the pod or the pod template), and nothing else.
func writeBack(target, pod *yaml.Node) error {
	if spec := get(pod, "spec"); spec != nil {
		if dst := get(target, "spec"); dst != nil {
			merge(dst, spec)
		} else {
			appendKey(target, "spec", fresh(spec))
		}
	}
	srcMeta := get(pod, "metadata")
	for _, k := range []string{"labels", "annotations"} {
		src := get(srcMeta, k)
		if src == nil {
			continue
		}
		meta := get(target, "metadata")
		switch {
		case meta == nil:
			meta = &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			// metadata reads best before spec.
			target.Content = append([]*yaml.Node{scalarNode("metadata"), meta}, target.Content...)
		case meta.Kind == yaml.AliasNode:
			replaceNode(meta, materialize(meta))
		case meta.Kind != yaml.MappingNode: // metadata: null
			replaceNode(meta, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"})
		}
		if dst := get(meta, k); dst != nil {
			merge(dst, src)
		} else {
			appendKey(meta, k, fresh(src))
		}
	}
	// The tree must now say exactly what the patch says.
	for _, p := range [][]string{{"spec"}, {"metadata", "labels"}, {"metadata", "annotations"}} {
		want, got := pod, target
		for _, k := range p {
			want, got = get(want, k), get(got, k)
		}
		if want == nil {
			continue
		}
		if !equalNodes(got, want) {
			return fmt.Errorf("inject: internal error: %s does not match the patched pod", strings.Join(p, "."))
		}
	}
	return nil
}

// --- YAML node helpers -----------------------------------------------------

// get returns the value of key in a mapping node, or nil.
func get(n *yaml.Node, key string) *yaml.Node {
	if n == nil {
		return nil
	}
	if n.Kind == yaml.DocumentNode && len(n.Content) > 0 {
		n = n.Content[0]
	}
	if n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	if n == nil || n.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if n.Content[i].Kind == yaml.ScalarNode && n.Content[i].Value == key {
			return n.Content[i+1]
		}
	}
	return nil
}

func scalarOf(n *yaml.Node) string {
	if n == nil || n.Kind != yaml.ScalarNode || n.ShortTag() == "!!null" {
		return ""
	}
	return n.Value
}

func scalarNode(s string) *yaml.Node {
	return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: s}
}

func appendKey(m *yaml.Node, key string, v *yaml.Node) {
	if len(m.Content) == 0 {
		m.Style &^= yaml.FlowStyle
	}
	m.Content = append(m.Content, scalarNode(key), v)
}

// merge makes dst (in the document) mean what src (from the patched JSON)
// means, keeping dst's comments and styles wherever the value is unchanged.
func merge(dst, src *yaml.Node) {
	if equalNodes(dst, src) {
		return
	}
	switch {
	case dst.Kind == yaml.MappingNode && src.Kind == yaml.MappingNode && simpleKeys(dst):
		mergeMapping(dst, src)
	case dst.Kind == yaml.SequenceNode && src.Kind == yaml.SequenceNode:
		mergeSequence(dst, src)
	case dst.Kind == yaml.ScalarNode && src.Kind == yaml.ScalarNode:
		// The value changed; the style stays (the encoder quotes a plain
		// scalar when the new value needs it).
		dst.Value, dst.Tag = src.Value, src.ShortTag()
	default:
		replaceNode(dst, fresh(src))
	}
}

// simpleKeys reports a mapping whose keys are distinct plain scalars.
func simpleKeys(m *yaml.Node) bool {
	seen := make(map[string]bool, len(m.Content)/2)
	for i := 0; i+1 < len(m.Content); i += 2 {
		k := m.Content[i]
		if k.Kind != yaml.ScalarNode || k.ShortTag() == "!!merge" || seen[k.Value] {
			return false
		}
		seen[k.Value] = true
	}
	return true
}

// mergeMapping keeps dst's keys in their order, drops the ones src does not
// have, and appends src's new keys at the end.
func mergeMapping(dst, src *yaml.Node) {
	srcAt := make(map[string]int, len(src.Content)/2)
	for i := 0; i+1 < len(src.Content); i += 2 {
		srcAt[src.Content[i].Value] = i
	}
	had := make(map[string]bool, len(dst.Content)/2)
	content := make([]*yaml.Node, 0, len(src.Content))
	for i := 0; i+1 < len(dst.Content); i += 2 {
		k, v := dst.Content[i], dst.Content[i+1]
		had[k.Value] = true
		j, ok := srcAt[k.Value]
		if !ok {
			continue
		}
		merge(v, src.Content[j+1])
		content = append(content, k, v)
	}
	for i := 0; i+1 < len(src.Content); i += 2 {
		if !had[src.Content[i].Value] {
			content = append(content, fresh(src.Content[i]), fresh(src.Content[i+1]))
		}
	}
	if len(dst.Content) == 0 && len(content) > 0 {
		dst.Style &^= yaml.FlowStyle
	}
	dst.Content = content
}

// mergeSequence matches items by their name when every item has a distinct
// one (containers, env vars, ports, volumes), so an item inserted at the
// front (the native sidecar) does not shift every comment onto the wrong
// item; otherwise by index.
func mergeSequence(dst, src *yaml.Node) {
	if byName, ok := namedItems(dst); ok {
		if _, ok := namedItems(src); ok {
			content := make([]*yaml.Node, 0, len(src.Content))
			for _, s := range src.Content {
				if d, ok := byName[scalarOf(get(s, "name"))]; ok {
					merge(d, s)
					content = append(content, d)
				} else {
					content = append(content, fresh(s))
				}
			}
			dst.Content = content
			return
		}
	}
	if len(dst.Content) == 0 && len(src.Content) > 0 {
		dst.Style &^= yaml.FlowStyle
	}
	for i, s := range src.Content {
		if i < len(dst.Content) {
			merge(dst.Content[i], s)
		} else {
			dst.Content = append(dst.Content, fresh(s))
		}
	}
	dst.Content = dst.Content[:len(src.Content)]
}

func namedItems(seq *yaml.Node) (map[string]*yaml.Node, bool) {
	if len(seq.Content) == 0 {
		return nil, false
	}
	m := make(map[string]*yaml.Node, len(seq.Content))
	for _, it := range seq.Content {
		if it.Kind != yaml.MappingNode {
			return nil, false
		}
		name := scalarOf(get(it, "name"))
		if name == "" || m[name] != nil {
			return nil, false
		}
		m[name] = it
	}
	return m, true
}

// replaceNode puts n in dst's place, keeping dst's comments.
func replaceNode(dst, n *yaml.Node) {
	head, line, foot := dst.HeadComment, dst.LineComment, dst.FootComment
	*dst = *n
	dst.HeadComment, dst.LineComment, dst.FootComment = head, line, foot
}

// fresh copies a node from the patched JSON for insertion: no JSON quoting
// or flow style, so it reads like the rest of a block-style document.
func fresh(n *yaml.Node) *yaml.Node {
	c := &yaml.Node{Kind: n.Kind, Value: n.Value, Tag: n.ShortTag()}
	if n.Kind == yaml.AliasNode {
		return fresh(n.Alias)
	}
	for _, ch := range n.Content {
		c.Content = append(c.Content, fresh(ch))
	}
	return c
}

// hasAnchors reports a subtree that defines an anchor. (Aliases inside an
// edited subtree are safe: merge replaces an alias it changes with a copy.)
func hasAnchors(n *yaml.Node) bool {
	if n == nil {
		return false
	}
	if n.Anchor != "" {
		return true
	}
	for _, c := range n.Content {
		if hasAnchors(c) {
			return true
		}
	}
	return false
}

// materialize returns a copy of n with aliases replaced by copies of what
// they point to, anchors dropped and merge keys (<<) spelled out.
func materialize(n *yaml.Node) *yaml.Node {
	if n.Kind == yaml.AliasNode {
		c := materialize(n.Alias)
		c.HeadComment, c.LineComment, c.FootComment = n.HeadComment, n.LineComment, n.FootComment
		return c
	}
	c := *n
	c.Anchor = ""
	c.Content = nil
	if n.Kind != yaml.MappingNode {
		for _, ch := range n.Content {
			c.Content = append(c.Content, materialize(ch))
		}
		return &c
	}
	explicit := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.ShortTag() != "!!merge" {
			explicit[k.Value] = true
		}
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if k.ShortTag() != "!!merge" {
			c.Content = append(c.Content, materialize(k), materialize(v))
			continue
		}
		v = materialize(v)
		sources := []*yaml.Node{v}
		if v.Kind == yaml.SequenceNode {
			sources = v.Content
		}
		for _, s := range sources {
			if s.Kind != yaml.MappingNode {
				continue
			}
			for j := 0; j+1 < len(s.Content); j += 2 {
				if key := s.Content[j].Value; !explicit[key] {
					explicit[key] = true
					c.Content = append(c.Content, s.Content[j], s.Content[j+1])
				}
			}
		}
	}
	return &c
}

// --- values ----------------------------------------------------------------

// toValue converts a node to the JSON value the API server would get from it
// (see yamlvalue.Decode). parseDocument refuses a document that expands
// beyond its alias budget, and every node here is part of (or a copy of a
// part of) a parsed document, so no further bound is needed.
func toValue(n *yaml.Node) (any, error) { return yamlvalue.Decode(n, math.MaxInt) }

// equalNodes reports two nodes with the same JSON value.
func equalNodes(a, b *yaml.Node) bool {
	if a == nil || b == nil {
		return a == b
	}
	va, err := toValue(a)
	if err != nil {
		return false
	}
	vb, err := toValue(b)
	if err != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

// --- rendering -------------------------------------------------------------

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
	if first, _, _ := bytes.Cut(text, []byte("\n")); isMarker(first, "---") {
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
		v, err := yamlvalue.Scalar(n)
		if err != nil {
			return err
		}
		switch v := v.(type) {
		case nil:
			b.WriteString("null")
		case bool:
			b.WriteString(strconv.FormatBool(v))
		case json.Number:
			if yamlvalue.IsJSONNumber(n.Value) {
				b.WriteString(n.Value) // as written
			} else {
				b.WriteString(string(v))
			}
		case string:
			writeJSONString(b, v)
		}
	}
	return nil
}

func writeJSONString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s) // a string always encodes
	b.Truncate(b.Len() - 1)
}

// --- splicing --------------------------------------------------------------

// splice applies the line changes between before (the encoder's rendering
// of the original document) and after (its rendering of the edited one) to
// orig, the original text, so that lines the edit did not touch keep their
// exact bytes. Lines of before are matched to orig ignoring indentation, and
// each inserted line is shifted by the indentation difference of a sibling
// (or else its parent) line, so it fits a document indented differently
// from the encoder. ok is false when the change cannot be placed; the caller
// also checks that the result means what after means.
func splice(orig, before, after []byte) ([]byte, bool) {
	O, A, B := lines(orig), lines(before), lines(after)
	ab, ok := lcs(len(A), len(B), func(i, j int) bool { return A[i] == B[j] })
	if !ok {
		return nil, false
	}
	ao, ok := lcs(len(A), len(O), func(i, j int) bool { return sameContent(A[i], O[j]) })
	if !ok {
		return nil, false
	}
	delta := func(i int) int { return indentOf(O[ao[i]]) - indentOf(A[i]) }

	type edit struct {
		from, to int // orig lines [from, to) are replaced
		lines    []string
	}
	var edits []edit
	// Hunks: before lines [a0, a1) become after lines [b0, b1) between matches.
	a, b := 0, 0
	for {
		for a < len(A) && ab[a] == b {
			a, b = a+1, b+1
		}
		if a == len(A) && b == len(B) {
			break
		}
		a0, b0 := a, b
		for a < len(A) && ab[a] < 0 {
			a++
		}
		a1, b1 := a, len(B)
		if a < len(A) {
			b1 = ab[a]
		}
		b = b1
		var e edit
		switch {
		case a0 < a1:
			if ao[a0] < 0 || ao[a1-1] < 0 {
				return nil, false
			}
			e.from, e.to = ao[a0], ao[a1-1]+1
		case a0 > 0 && ao[a0-1] >= 0:
			e.from, e.to = ao[a0-1]+1, ao[a0-1]+1
		case a0 < len(A) && ao[a0] >= 0:
			e.from, e.to = ao[a0], ao[a0]
		default:
			return nil, false
		}
		headIndent, shift := -1, 0
		for _, l := range B[b0:b1] {
			if strings.TrimSpace(l) == "" {
				e.lines = append(e.lines, l)
				continue
			}
			k := indentOf(l)
			if headIndent < 0 || k <= headIndent {
				headIndent, shift = k, contextShift(A, ao, a0, a1, k, isItem(l), delta)
			}
			nl, ok := reindent(l, shift)
			if !ok {
				return nil, false
			}
			e.lines = append(e.lines, nl)
		}
		edits = append(edits, e)
	}
	var out []string
	pos := 0
	for _, e := range edits {
		if e.from < pos {
			return nil, false
		}
		out = append(out, O[pos:e.from]...)
		out = append(out, e.lines...)
		pos = e.to
	}
	out = append(out, O[pos:]...)
	s := strings.Join(out, "\n")
	if len(orig) > 0 && orig[len(orig)-1] == '\n' || len(orig) == 0 {
		s += "\n"
	}
	return []byte(s), true
}

// contextShift finds the indentation shift for a line inserted between
// before lines a0 and a1 (a0..a1 being replaced) at indentation k: that of
// the nearest sibling (same indentation, both sequence items or both not),
// else of the parent.
func contextShift(A []string, ao []int, a0, a1, k int, item bool, delta func(int) int) int {
	usable := func(i int) bool {
		t := strings.TrimSpace(A[i])
		return ao[i] >= 0 && t != "" && t[0] != '#'
	}
	// parentOf reports a line that ends the search: indented less, or a key
	// at the indentation of a sequence item (a compact sequence's key).
	parentOf := func(i int) bool {
		ki := indentOf(A[i])
		return ki < k || ki == k && item && !isItem(A[i])
	}
	sibling := func(i int) bool {
		return indentOf(A[i]) == k && isItem(A[i]) == item
	}
	parent := -1
	for i := a1 - 1; i >= 0; i-- {
		if !usable(i) {
			continue
		}
		if sibling(i) {
			return delta(i)
		}
		if parentOf(i) {
			parent = i
			break
		}
	}
	for i := a1; i < len(A); i++ {
		if !usable(i) {
			continue
		}
		if sibling(i) {
			return delta(i)
		}
		if parentOf(i) {
			break
		}
	}
	if parent >= 0 {
		return delta(parent)
	}
	return 0
}

// itemRE is a sequence item's indicator with the spaces after it.
var itemRE = regexp.MustCompile(`^-[ \t]+`)

// sameContent compares lines ignoring indentation, trailing spaces and the
// spacing after a sequence item's "-" ("-   name: x" is "- name: x").
func sameContent(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b {
		return true
	}
	return strings.HasPrefix(a, "-") && strings.HasPrefix(b, "-") &&
		itemRE.ReplaceAllString(a, "- ") == itemRE.ReplaceAllString(b, "- ")
}

func lines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " \t")) }

func isItem(l string) bool {
	t := strings.TrimSpace(l)
	return t == "-" || strings.HasPrefix(t, "- ")
}

func reindent(l string, shift int) (string, bool) {
	switch {
	case shift > 0:
		return strings.Repeat(" ", shift) + l, true
	case shift < 0:
		if indentOf(l) < -shift {
			return "", false
		}
		return l[-shift:], true
	}
	return l, true
}

// maxEdits bounds the diff; past it the whole document is re-encoded.
const maxEdits = 2000

// lcs matches the items of two sequences along a longest common subsequence
// (Myers' O(ND) algorithm): m[i] is the index in the second sequence that
// item i of the first is matched with, or -1. ok is false when more than
// maxEdits edits separate them.
func lcs(n, m int, eq func(i, j int) bool) (match []int, ok bool) {
	match = make([]int, n)
	for i := range match {
		match[i] = -1
	}
	pre := 0
	for pre < n && pre < m && eq(pre, pre) {
		match[pre] = pre
		pre++
	}
	suf := 0
	for suf < n-pre && suf < m-pre && eq(n-1-suf, m-1-suf) {
		match[n-1-suf] = m - 1 - suf
		suf++
	}
	N, M := n-pre-suf, m-pre-suf
	if N == 0 || M == 0 {
		return match, true
	}
	eqm := func(x, y int) bool { return eq(pre+x, pre+y) }
	maxD := min(N+M, maxEdits)
	off := maxD + 1
	v := make([]int, 2*maxD+3)
	var trace [][]int // trace[d] holds v[k] for k in [-d-1, d+1] after step d
	for d := 0; d <= maxD; d++ {
		for k := -d; k <= d; k += 2 {
			var x int
			if k == -d || k != d && v[off+k-1] < v[off+k+1] {
				x = v[off+k+1]
			} else {
				x = v[off+k-1] + 1
			}
			y := x - k
			for x < N && y < M && eqm(x, y) {
				x, y = x+1, y+1
			}
			v[off+k] = x
			if x >= N && y >= M {
				// Walk back through the trace.
				for dd := d; dd > 0; dd-- {
					prev := trace[dd-1]
					at := func(k int) int { return prev[k+dd] } // prev covers [-dd, dd]
					k := x - y
					var pk int
					if k == -dd || k != dd && at(k-1) < at(k+1) {
						pk = k + 1
					} else {
						pk = k - 1
					}
					px := at(pk)
					py := px - pk
					for x > px && y > py {
						x, y = x-1, y-1
						match[pre+x] = pre + y
					}
					x, y = px, py
				}
				for x > 0 && y > 0 {
					x, y = x-1, y-1
					match[pre+x] = pre + y
				}
				return match, true
			}
		}
		snap := make([]int, 2*d+3)
		copy(snap, v[off-d-1:off+d+2])
		trace = append(trace, snap)
	}
	return nil, false
}
