package inject

import (
	"strings"

	yaml "go.yaml.in/yaml/v3"

	kinds "github.com/inzone-io/inzone/workload"
)

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
	path, ok := kinds.PodTemplatePath(group, kind)
	switch {
	case !ok:
		return ws
	case len(path) == 0:
		w.isPod = true
	default:
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
