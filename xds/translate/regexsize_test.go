package translate

import (
	"fmt"
	"maps"
	"path/filepath"
	"regexp/syntax"
	"slices"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// maxRegexInsts bounds the program of every regex the translator emits, in
// Go's regexp/syntax instructions. Envoy rejects a safe_regex whose RE2
// program is larger than 100 (re2.max_program_size.error_level), and with
// it the whole resource; RE2 counts more than Go (the old one-regex
// refusal: 388 in Go, 442 in RE2), so the bound leaves room.
const maxRegexInsts = 60

// regexInsts is the size of re's program as Go compiles it.
func regexInsts(re string) (int, error) {
	parsed, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return 0, err
	}
	prog, err := syntax.Compile(parsed.Simplify())
	if err != nil {
		return 0, err
	}
	return len(prog.Inst), nil
}

// regexMatcherName is the message Envoy compiles a safe_regex from.
const regexMatcherName protoreflect.FullName = "envoy.type.matcher.v3.RegexMatcher"

// walkRegexes calls visit with the path and pattern of every RegexMatcher
// in m, looking inside Anys.
func walkRegexes(t *testing.T, path string, m protoreflect.Message, visit func(path, re string)) {
	t.Helper()
	if m.Descriptor().FullName() == regexMatcherName {
		visit(path, m.Get(m.Descriptor().Fields().ByName("regex")).String())
	}
	if a, ok := m.Interface().(*anypb.Any); ok {
		inner, err := a.UnmarshalNew()
		if err != nil {
			t.Errorf("%s: %s: %v", path, a.GetTypeUrl(), err)
			return
		}
		walkRegexes(t, path+"("+string(inner.ProtoReflect().Descriptor().FullName())+")", inner.ProtoReflect(), visit)
		return
	}
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		if fd.Message() == nil {
			return true
		}
		p := path + "." + string(fd.Name())
		switch {
		case fd.IsList():
			for i := range v.List().Len() {
				walkRegexes(t, fmt.Sprintf("%s[%d]", p, i), v.List().Get(i).Message(), visit)
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				walkRegexes(t, fmt.Sprintf("%s[%v]", p, k.Interface()), mv.Message(), visit)
				return true
			})
		default:
			walkRegexes(t, p, v.Message(), visit)
		}
		return true
	})
}

// outputResources are every resource of out, named by kind and name.
func outputResources(out *Output) map[string]proto.Message {
	res := map[string]proto.Message{}
	for _, c := range out.Clusters {
		res["cluster "+c.GetName()] = c
	}
	for _, e := range slices.Concat(out.Endpoints, out.Local) {
		res["endpoints "+e.GetClusterName()] = e
	}
	for _, l := range slices.Concat(out.Listeners, out.APIListeners) {
		res["listener "+l.GetName()] = l
	}
	for _, r := range out.Routes {
		res["route "+r.GetName()] = r
	}
	for _, sc := range out.Scopes {
		res["scope "+sc.Identity+" route "+sc.Route.GetName()] = sc.Route
		for _, c := range sc.Clusters {
			res["scope "+sc.Identity+" cluster "+c.GetName()] = c
		}
	}
	return res
}

// TestRegexProgramSize: no regex in any resource the translator emits for
// any golden case is too large for Envoy to accept.
func TestRegexProgramSize(t *testing.T) {
	tr := testTranslator(t)
	dirs, err := filepath.Glob(filepath.Join("testdata", "cases", "*"))
	if err != nil || len(dirs) == 0 {
		t.Fatalf("no cases: %v", err)
	}
	seen := 0
	for _, dir := range dirs {
		resources := outputResources(tr.Translate(loadCase(t, dir)))
		for _, name := range slices.Sorted(maps.Keys(resources)) {
			walkRegexes(t, name, resources[name].ProtoReflect(), func(path, re string) {
				seen++
				n, err := regexInsts(re)
				switch {
				case err != nil:
					t.Errorf("%s: %s: %s: %v", filepath.Base(dir), path, re, err)
				case n > maxRegexInsts:
					t.Errorf("%s: %s: %d instructions (at most %d): %s", filepath.Base(dir), path, n, maxRegexInsts, re)
				}
			})
		}
	}
	if seen == 0 {
		t.Fatal("no regex found: the walk does not reach them")
	}
}
