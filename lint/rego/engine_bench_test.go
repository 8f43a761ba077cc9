package rego_test

import (
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/open-policy-agent/opa/v1/ast"

	"github.com/inzone-io/inzone/lint"
	"github.com/inzone-io/inzone/lint/envoy"
	"github.com/inzone-io/inzone/lint/rego"
	"github.com/inzone-io/inzone/lint/source"
	"github.com/inzone-io/inzone/policies"
	"github.com/inzone-io/inzone/test/shared"
)

// corpusInputs returns the Rego inputs of ../shared/corpus that some rule
// reads: the Kubernetes objects and the Envoy configs, standalone or in a
// ConfigMap, built as package lint builds them, with its exported parts.
func corpusInputs(b testing.TB, e *rego.Engine) []ast.Value {
	b.Helper()
	corpus := filepath.Join(shared.Dir(b), "corpus")
	files, errs := source.Collect(os.DirFS(corpus), []string{"k8s", "envoy"}, source.Options{})
	if len(errs) > 0 {
		b.Fatal(errs)
	}
	var inputs []ast.Value
	add := func(v any) {
		iv, err := ast.InterfaceToValue(v)
		if err != nil {
			b.Fatal(err)
		}
		inputs = append(inputs, iv)
	}
	addEnvoy := func(v any, name string) {
		format, ok := envoy.Detect(v)
		if !ok {
			return
		}
		in, err := envoy.Parse(v, format)
		if err != nil {
			return // envoy-invalid-config, a built-in rule
		}
		in["apiVersion"], in["kind"], in["metadata"] = envoy.APIVersion, envoy.Kind, map[string]any{"name": name}
		add(in)
	}
	for _, f := range files {
		data, err := f.Load()
		if err != nil {
			b.Fatal(err)
		}
		docs, _ := lint.ParseDocuments(f.Path, data)
		for _, d := range docs {
			v, err := d.Decode()
			if err != nil {
				continue
			}
			m, _ := v.(map[string]any)
			kind, isObject := m["kind"].(string)
			if _, ok := m["apiVersion"].(string); !ok || !isObject {
				addEnvoy(v, f.Path)
				continue
			}
			if e.Wants(kind) {
				add(m)
			}
			if kind != "ConfigMap" {
				continue
			}
			cmData, _ := m["data"].(map[string]any)
			for _, raw := range cmData {
				s, _ := raw.(string)
				if !envoy.MayHoldConfig(s) {
					continue
				}
				if embedded, err := lint.ParseDocuments(f.Path, []byte(s)); err == nil && len(embedded) == 1 {
					if ev, err := embedded[0].Decode(); err == nil {
						addEnvoy(ev, f.Path)
					}
				}
			}
		}
	}
	return inputs
}

// BenchmarkEngineEval evaluates every rule on every input of the corpus, as
// one Linter pass does, and each rule alone (its package compiled by
// itself), to tell which rules cost.
func BenchmarkEngineEval(b *testing.B) {
	ctx := context.Background()
	all, err := rego.New(ctx, rego.Options{Policies: []fs.FS{policies.FS}})
	if err != nil {
		b.Fatal(err)
	}
	inputs := corpusInputs(b, all)
	run := func(b *testing.B, e *rego.Engine) {
		b.ReportAllocs()
		for b.Loop() {
			for _, in := range inputs {
				if _, err := e.Eval(ctx, in); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	b.Run("all", func(b *testing.B) { run(b, all) })
	for _, r := range all.Rules() {
		if r.Source == "" {
			continue // built in
		}
		sub, err := fs.Sub(policies.FS, filepath.Dir(r.Source))
		if err != nil {
			b.Fatal(err)
		}
		e, err := rego.New(ctx, rego.Options{Policies: []fs.FS{sub}})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(r.ID, func(b *testing.B) { run(b, e) })
	}
}

// BenchmarkEngineStart is what a run spends on the policies before linting:
// compiling them and preparing the query of every kind the corpus has.
func BenchmarkEngineStart(b *testing.B) {
	ctx := context.Background()
	e, err := rego.New(ctx, rego.Options{Policies: []fs.FS{policies.FS}})
	if err != nil {
		b.Fatal(err)
	}
	kinds := map[string]bool{}
	for _, in := range corpusInputs(b, e) {
		if s, ok := in.(ast.Object).Get(rego.KindTerm).Value.(ast.String); ok {
			kinds[string(s)] = true
		}
	}
	var sorted []string
	for k := range kinds {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	b.Logf("kinds: %s", strings.Join(sorted, ", "))
	b.ReportAllocs()
	for b.Loop() {
		e, err := rego.New(ctx, rego.Options{Policies: []fs.FS{policies.FS}})
		if err != nil {
			b.Fatal(err)
		}
		for _, k := range sorted {
			if err := e.PrepareKind(context.Background(), k); err != nil {
				b.Fatal(err)
			}
		}
	}
}
