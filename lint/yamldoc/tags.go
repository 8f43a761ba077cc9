package yamldoc

import "go.yaml.in/yaml/v3"

// The tags the library gives the nodes the builder builds.
const (
	mapTag  = "!!map"
	seqTag  = "!!seq"
	strTag  = "!!str"
	nullTag = "!!null"
)

// resolvedTag is the tag the library gives a plain scalar: its own
// resolution, asked through the public API (a node without a tag reports
// the tag its value resolves to).
func resolvedTag(value string) string {
	n := yaml.Node{Kind: yaml.ScalarNode, Value: value}
	return n.ShortTag()
}
