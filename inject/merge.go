package inject

import (
	"fmt"
	"math"
	"reflect"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/inzone-io/inzone/internal/yamldoc"
)

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
		quoteBoolWord(dst)
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
	if n.Kind == yaml.AliasNode {
		return fresh(n.Alias)
	}
	c := &yaml.Node{Kind: n.Kind, Value: n.Value, Tag: n.ShortTag()}
	quoteBoolWord(c)
	for _, ch := range n.Content {
		c.Content = append(c.Content, fresh(ch))
	}
	return c
}

// quoteBoolWord quotes a plain string the API server would read as a
// boolean (yes, on, ...): the encoder would quote it too, and the tree must
// mean what it will read back as.
func quoteBoolWord(n *yaml.Node) {
	if n.Kind == yaml.ScalarNode && n.Style == 0 && n.Tag == "!!str" && yamldoc.IsBoolWord(n.Value) {
		n.Style = yaml.DoubleQuotedStyle
	}
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

// toValue converts a node to the value the API server reads from it
// (yamldoc.Value), refusing a repeated key: which one a tool keeps is not
// something to guess when writing the manifest back. parseDocument refuses a document that expands
// beyond its alias budget, and every node here is part of (or a copy of a
// part of) a parsed document, so no further bound is needed.
func toValue(n *yaml.Node) (any, error) {
	return yamldoc.Value(n, yamldoc.Options{Budget: math.MaxInt, Strict: true})
}

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
