package yamldoc

import "go.yaml.in/yaml/v3"

// The tags the library gives the nodes the builder builds.
const (
	mapTag  = "!!map"
	seqTag  = "!!seq"
	strTag  = "!!str"
	nullTag = "!!null"
	boolTag = "!!bool"
)

// resolvedTag is the tag the library gives a plain scalar. Most values
// (words, names, descriptions) cannot be anything but a string, which their
// first character shows; the library is asked about the others, numbers
// and the like, through its public API. Its own resolution returns the
// value as an interface too, an allocation for every scalar.
// TestResolvedTagIsLibrarys holds the two together.
func resolvedTag(value string) string {
	if value == "" {
		return nullTag
	}
	switch c := value[0]; {
	case c >= '0' && c <= '9', c == '+', c == '-', c == '.':
		return libraryTag(value) // a number, a timestamp, .inf or .nan maybe
	case c == 't', c == 'T', c == 'f', c == 'F':
		switch value {
		case "true", "True", "TRUE", "false", "False", "FALSE":
			return boolTag
		}
	case c == 'n', c == 'N', c == '~':
		switch value {
		case "~", "null", "Null", "NULL":
			return nullTag
		}
	}
	return strTag
}

// libraryTag is the library's tag for a plain scalar: a node without a
// tag reports the tag its value resolves to.
func libraryTag(value string) string {
	n := yaml.Node{Kind: yaml.ScalarNode, Value: value}
	return n.ShortTag()
}
