package rego

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"
	oparego "github.com/open-policy-agent/opa/v1/rego"
)

const (
	testNLB = "orders-1a2b3c4d5e6f7a8b.elb.us-east-1.amazonaws.com"
	testALB = "internal-payments-123456789.eu-west-1.elb.amazonaws.com"
)

// testLookup knows the NLB, and knows the ALB without a name (which must
// count as unknown).
func testLookup(key string) (string, bool) {
	switch key {
	case testNLB:
		return "orders.shop.ddsd", true
	case testALB:
		return "", true
	}
	return "", false
}

func host(h, key, ddsd string) map[string]any {
	return map[string]any{"host": h, "key": key, "ddsd": ddsd}
}

func TestBuiltinELBHostnames(t *testing.T) {
	for _, tt := range []struct {
		name   string
		input  any
		lookup ELBLookup
		want   []any
	}{
		{name: "a string without amazonaws gives none", input: "http://orders.shop.svc:8080", lookup: testLookup, want: []any{}},
		{name: "the empty string gives none", input: "", lookup: testLookup, want: []any{}},
		{name: "a number gives none", input: 42, lookup: testLookup, want: []any{}},
		{name: "an object gives none", input: map[string]any{"url": testNLB}, lookup: testLookup, want: []any{}},
		{name: "null gives none", input: nil, lookup: testLookup, want: []any{}},
		{name: "other AWS endpoints are not load balancers", input: "https://s3.us-east-1.amazonaws.com", lookup: testLookup, want: []any{}},
		{name: "a longer name is not a load balancer", input: testNLB + ".evil.com", lookup: testLookup, want: []any{}},
		{
			name:   "a known hostname in a URL carries its DDSD name",
			input:  "http://" + testNLB + ":8080/v1",
			lookup: testLookup,
			want:   []any{host(testNLB, testNLB, "orders.shop.ddsd")},
		},
		{
			name:   "a hostname is reported as written and keyed canonically",
			input:  "DualStack.Orders-1A2B3C4D5E6F7A8B.ELB.us-east-1.amazonaws.com.",
			lookup: testLookup,
			want:   []any{host("DualStack.Orders-1A2B3C4D5E6F7A8B.ELB.us-east-1.amazonaws.com.", testNLB, "orders.shop.ddsd")},
		},
		{
			name:   "every hostname is reported in order, an empty DDSD name as none",
			input:  testALB + "," + testNLB + " " + testALB,
			lookup: testLookup,
			want: []any{
				host(testALB, testALB, ""),
				host(testNLB, testNLB, "orders.shop.ddsd"),
				host(testALB, testALB, ""),
			},
		},
		{
			name:  "a nil lookup knows no DDSD names",
			input: testNLB,
			want:  []any{host(testNLB, testNLB, "")},
		},
	} {
		t.Run(tt.name, func(t *testing.T) {
			rs, err := oparego.New(
				oparego.Query("x := inzone.elb_hostnames(input.s)"),
				oparego.Input(map[string]any{"s": tt.input}),
				oparego.StrictBuiltinErrors(true),
				elbHostnames(tt.lookup),
			).Eval(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			if len(rs) != 1 {
				t.Fatalf("%d results, want 1", len(rs))
			}
			if got := rs[0].Bindings["x"]; !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

func TestBuiltinELBHostnamesTypeChecked(t *testing.T) {
	for _, tt := range []struct {
		name, query, wantErr string
	}{
		{"a number literal is rejected", `inzone.elb_hostnames(1)`, "rego_type_error: inzone.elb_hostnames: invalid argument(s)"},
		{"a second argument is rejected", `inzone.elb_hostnames("a", "b")`, "rego_type_error: inzone.elb_hostnames: invalid argument(s)"},
		{"the result's fields are typed", `x := inzone.elb_hostnames("a")[0].host; x + 1`, "rego_type_error: plus: invalid argument(s)"},
		{"an unknown field is rejected", `inzone.elb_hostnames("a")[0].port`, "rego_type_error: undefined ref"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := oparego.New(oparego.Query(tt.query), elbHostnames(nil)).PrepareForEval(context.Background())
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("error %v, want %s", err, tt.wantErr)
			}
		})
	}
}

func TestBuiltinELBHostnamesDecl(t *testing.T) {
	b := elbHostnamesTesterBuiltin(nil)
	if b.Decl.Name != elbHostnamesName || b.Decl.Nondeterministic || b.Func == nil {
		t.Errorf("builtin %+v: want %s, deterministic, with an implementation", b.Decl, elbHostnamesName)
	}
	if got := len(testerBuiltins(nil)); got != len(topdownBuiltins(nil)) {
		t.Errorf("%d tester builtins, %d engine builtins", got, len(topdownBuiltins(nil)))
	}
}

func TestBuiltinELBHostnamesAllocs(t *testing.T) {
	impl := elbHostnamesImpl(testLookup)
	for _, s := range []string{
		"http://orders.shop.svc.cluster.local:8080/v1",
		"https://dynamodb.us-west-2.amazonaws.com",
		strings.Repeat("a.b", 1000),
	} {
		term := ast.StringTerm(s)
		allocs := testing.AllocsPerRun(100, func() {
			out, err := impl(oparego.BuiltinContext{}, term)
			if err != nil || out.Value.Compare(ast.InternedEmptyArrayValue) != 0 {
				t.Fatalf("got %v, %v; want []", out, err)
			}
		})
		if allocs != 0 {
			t.Errorf("%.20q: %v allocations, want 0", s, allocs)
		}
	}
}

func BenchmarkBuiltinELBHostnames(b *testing.B) {
	impl := elbHostnamesImpl(testLookup)
	for _, bb := range []struct{ name, s string }{
		{"none", "--listen=:8080 --upstream=http://orders.shop.svc.cluster.local:8080"},
		{"one", "--upstream=http://" + testNLB + ":8080"},
	} {
		term := ast.StringTerm(bb.s)
		b.Run(bb.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := impl(oparego.BuiltinContext{}, term); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
