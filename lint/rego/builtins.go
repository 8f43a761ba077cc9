package rego

import (
	"github.com/open-policy-agent/opa/v1/ast"
	oparego "github.com/open-policy-agent/opa/v1/rego"
	"github.com/open-policy-agent/opa/v1/tester"
	"github.com/open-policy-agent/opa/v1/topdown"
	"github.com/open-policy-agent/opa/v1/types"

	"github.com/inzone-io/inzone/elb"
)

// This file holds the custom Rego builtins the policies may call. Each one is
// declared with a precise type, so the compiler type-checks calls in rules
// and tests, and is registered both with the engine (for linting) and with the
// tester (for `Verify`), through the same declaration.

// elbHostnamesName is the Rego name of the ELB hostname builtin.
const elbHostnamesName = "inzone.elb_hostnames"

// ELBLookup maps a canonical ELB hostname to its DDSD name; it may be nil.
type ELBLookup func(key string) (ddsd string, ok bool)

// elbHostnamesResult is the type of one element of the builtin's result.
var elbHostnamesResult = types.NewObject([]*types.StaticProperty{
	types.NewStaticProperty("host", types.S),
	types.NewStaticProperty("key", types.S),
	types.NewStaticProperty("ddsd", types.S),
}, nil)

// elbHostnamesDecl declares inzone.elb_hostnames(s): for every AWS load
// balancer hostname in the string s, an object {"host": as written, "key":
// canonical name, "ddsd": DDSD name or ""}, in order; [] when there is none
// or s is not a string.
var elbHostnamesDecl = &oparego.Function{
	Name: elbHostnamesName,
	Description: "Returns the AWS load balancer hostnames in a string: " +
		"[{\"host\": as written, \"key\": canonical, \"ddsd\": DDSD name or \"\"}].",
	Decl: types.NewFunction(
		types.Args(types.Named("s", types.S).Description("text to scan")),
		types.Named("hostnames", types.NewArray(nil, elbHostnamesResult)).
			Description("the hostnames found, in order"),
	),
	Nondeterministic: false,
}

// Keys of the result objects, shared by every result.
var (
	elbHostTerm = ast.StringTerm("host")
	elbKeyTerm  = ast.StringTerm("key")
	elbDDSDTerm = ast.StringTerm("ddsd")
)

// elbHostnames returns the rego.New option registering inzone.elb_hostnames
// with lookup answering the DDSD names (nil: none are known).
func elbHostnames(lookup ELBLookup) func(*oparego.Rego) {
	return oparego.Function1(elbHostnamesDecl, elbHostnamesImpl(lookup))
}

// elbHostnamesTesterBuiltin returns the declaration and implementation of
// inzone.elb_hostnames in the form the OPA tester takes.
func elbHostnamesTesterBuiltin(lookup ELBLookup) *tester.Builtin {
	return &tester.Builtin{
		Decl: &ast.Builtin{
			Name:             elbHostnamesDecl.Name,
			Description:      elbHostnamesDecl.Description,
			Decl:             elbHostnamesDecl.Decl,
			Nondeterministic: elbHostnamesDecl.Nondeterministic,
		},
		Func: elbHostnames(lookup),
	}
}

// builtinDecls declares the custom builtins to a compiler.
func builtinDecls() map[string]*ast.Builtin {
	decls := map[string]*ast.Builtin{}
	for _, f := range []*oparego.Function{elbHostnamesDecl} {
		decls[f.Name] = &ast.Builtin{Name: f.Name, Decl: f.Decl}
	}
	return decls
}

// testerBuiltins returns every inzone builtin in the form the OPA tester
// takes.
func testerBuiltins(lookup ELBLookup) []*tester.Builtin {
	return []*tester.Builtin{elbHostnamesTesterBuiltin(lookup)}
}

// elbHostnamesImpl implements inzone.elb_hostnames. Nearly every string it
// sees names no load balancer: elb.Find then returns nil
// without allocating, and so does this function (it returns the interned
// empty array).
func elbHostnamesImpl(lookup ELBLookup) oparego.Builtin1 {
	return func(_ oparego.BuiltinContext, op *ast.Term) (*ast.Term, error) {
		s, ok := op.Value.(ast.String)
		if !ok {
			return ast.InternedEmptyArray, nil
		}
		found := elb.Find(string(s))
		if len(found) == 0 {
			return ast.InternedEmptyArray, nil
		}
		out := make([]*ast.Term, len(found))
		for i, m := range found {
			ddsd := ""
			if lookup != nil {
				if name, ok := lookup(m.Key); ok {
					ddsd = name
				}
			}
			out[i] = ast.ObjectTerm(
				[2]*ast.Term{elbHostTerm, ast.StringTerm(m.Host)},
				[2]*ast.Term{elbKeyTerm, ast.StringTerm(m.Key)},
				[2]*ast.Term{elbDDSDTerm, ast.StringTerm(ddsd)},
			)
		}
		return ast.ArrayTerm(out...), nil
	}
}

// topdownBuiltins returns every inzone builtin in the form topdown takes,
// with lookup answering inzone.elb_hostnames' DDSD names.
func topdownBuiltins(lookup ELBLookup) map[string]*topdown.Builtin {
	elb := elbHostnamesImpl(lookup)
	return map[string]*topdown.Builtin{
		elbHostnamesName: {
			Decl: builtinDecls()[elbHostnamesName],
			Func: func(bctx topdown.BuiltinContext, ops []*ast.Term, iter func(*ast.Term) error) error {
				out, err := elb(bctx, ops[0])
				if err != nil {
					return err
				}
				return iter(out)
			},
		},
	}
}
