package inject

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	jsonpatch "github.com/evanphx/json-patch/v5"
	yaml "go.yaml.in/yaml/v3"
	corev1 "k8s.io/api/core/v1"
	sigsjson "sigs.k8s.io/json"

	"github.com/inzone-io/inzone/internal/yamldoc"
	"github.com/inzone-io/inzone/mutate"
)

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
		Applied: res.Applied, Skips: res.Skips,
	}
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
		var ve *yamldoc.Error
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
