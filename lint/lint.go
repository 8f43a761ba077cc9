package lint

import (
	"context"
	"errors"
	"fmt"
	"path"
	"runtime"
	"runtime/debug"
	"sort"
	"strings"
	"sync"

	"github.com/open-policy-agent/opa/v1/ast"
	"go.yaml.in/yaml/v3"

	"github.com/inzone-io/inzone/lint/envoy"
	"github.com/inzone-io/inzone/lint/file"
	"github.com/inzone-io/inzone/lint/rego"
	"github.com/inzone-io/inzone/report"
)

// Annotations that suppress findings on one object.
const (
	// AnnotationIgnore lists rule IDs, comma-separated, not to report for
	// the object.
	AnnotationIgnore = "inzone.io/lint-ignore"
	// AnnotationIgnoreReason says why; a suppression without a reason is
	// not honoured, so every exception in a repository is explained.
	AnnotationIgnoreReason = "inzone.io/lint-ignore-reason"
)

// Report is the outcome of a run.
type Report struct {
	Findings []report.Finding   `json:"findings"`
	Errors   []report.FileError `json:"errors"`
	// Files and Documents count what was read, for progress and benchmarks.
	Files     int `json:"-"`
	Documents int `json:"-"`
}

// Linter lints files with an Engine under a Config.
type Linter struct {
	Engine *rego.Engine
	Config *Config
	// Workers bounds parallelism; 0 means GOMAXPROCS.
	Workers int
}

// Lint lints every file. Files that do not parse are reported in
// Report.Errors with their position, and the other files are still linted.
func (l *Linter) Lint(ctx context.Context, files []file.File) *Report {
	cfg := l.Config
	if cfg == nil {
		cfg = &Config{}
	}
	workers := l.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	type result struct {
		findings []report.Finding
		errs     []report.FileError
		docs     int
	}
	results := make([]result, len(files))
	jobs := make(chan int)
	var wg sync.WaitGroup
	// A panic in a worker would end the process from its goroutine, where
	// no caller can recover it: it is carried to Lint's caller instead.
	var panicOnce sync.Once
	var panicked *workerPanic
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() {
				if r := recover(); r != nil {
					panicOnce.Do(func() { panicked = &workerPanic{r, debug.Stack()} })
					for range jobs { // let the others finish
					}
				}
			}()
			var buf []byte // the worker's file buffer
			// Files with documents put off until the policies compile,
			// by index; their results are written once those are linted.
			waiting := map[int]*fileLinter{}
			finish := func() {
				for i, fl := range waiting {
					fl.lintPutOff(ctx)
					results[i] = result{fl.findings, fl.errs, fl.docs}
				}
				clear(waiting)
			}
			for i := range jobs {
				f := files[i]
				if cfg.ignoresFile(f.Path) {
					continue
				}
				if len(waiting) > 0 && l.Engine.Compiled() {
					finish()
				}
				fl := &fileLinter{engine: l.Engine, cfg: cfg, buf: &buf, mayPutOff: true}
				fl.lintFile(ctx, f)
				if len(fl.putOff) > 0 {
					waiting[i] = fl
					continue
				}
				results[i] = result{fl.findings, fl.errs, fl.docs}
			}
			finish()
		}()
	}
	// Largest files first, so that no large file is left for last while
	// the other workers have nothing to do; results keep the files' order.
	order := make([]int, len(files))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return files[order[a]].SizeHint() > files[order[b]].SizeHint() })
	for _, i := range order {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	if panicked != nil {
		panic(panicked)
	}

	rep := &Report{Findings: []report.Finding{}, Errors: []report.FileError{}, Files: len(files)}
	for _, r := range results {
		rep.Findings = append(rep.Findings, r.findings...)
		rep.Errors = append(rep.Errors, r.errs...)
		rep.Documents += r.docs
	}
	sort.SliceStable(rep.Findings, func(i, j int) bool {
		a, b := rep.Findings[i], rep.Findings[j]
		if a.File != b.File {
			return a.File < b.File
		}
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		if a.Column != b.Column {
			return a.Column < b.Column
		}
		return a.Rule < b.Rule
	})
	return rep
}

// workerPanic is a panic in a Lint worker, with the worker's stack.
type workerPanic struct {
	value any
	stack []byte
}

func (p *workerPanic) String() string {
	return fmt.Sprintf("%v\n\nin a lint worker:\n%s", p.value, p.stack)
}

// fileLinter is the state of linting one file.
type fileLinter struct {
	engine   *rego.Engine
	cfg      *Config
	findings []report.Finding
	errs     []report.FileError
	docs     int
	buf      *[]byte // reused for reading files, when not nil
	// mayPutOff lets lintFile put off the documents it reads while the
	// policies compile (putOff), rather than wait for the compile: their
	// worker goes on parsing, and lints them once the policies are ready
	// (lintPutOff). tail is the file's parse error, which comes after
	// them.
	mayPutOff bool
	putOff    []*Document
	tail      *report.FileError
}

func (fl *fileLinter) lintFile(ctx context.Context, f file.File) {
	data := f.Data
	if data == nil && f.ReadInto != nil && fl.buf != nil {
		if b, err := f.ReadInto(*fl.buf); err == nil {
			data, *fl.buf = b, b[:0]
		}
		// on an error, Load below reads again and reports it as ever
	}
	if data == nil && f.Load != nil {
		var err error
		if data, err = f.Load(); err != nil {
			fl.errs = append(fl.errs, report.FileError{File: f.Path, Message: err.Error()})
			return
		}
	}
	err := eachDocument(f.Path, data, fl.skips, func(d *Document) {
		fl.docs++
		if fl.mayPutOff {
			if !fl.engine.Compiled() {
				fl.putOff = append(fl.putOff, d)
				return
			}
			fl.lintPutOff(ctx) // what was put off comes first
		}
		fl.lintDocumentOrError(ctx, d)
	})
	if err != nil {
		var fe report.FileError
		if !errors.As(err, &fe) {
			fe = report.FileError{File: f.Path, Message: err.Error()}
		}
		if len(fl.putOff) > 0 {
			fl.tail = &fe
			return
		}
		fl.errs = append(fl.errs, fe)
	}
}

// lintDocumentOrError lints a document and keeps the error it ends with.
func (fl *fileLinter) lintDocumentOrError(ctx context.Context, d *Document) {
	if err := fl.lintDocument(ctx, d); err != nil {
		fl.errs = append(fl.errs, report.FileError{File: d.File, Line: d.Locate(nil).Line, Message: err.Error()})
	}
}

// lintPutOff lints the documents lintFile put off, in their order, and
// then keeps the file's parse error, as lintFile would have; with none
// put off, it does nothing.
func (fl *fileLinter) lintPutOff(ctx context.Context) {
	for _, d := range fl.putOff {
		fl.lintDocumentOrError(ctx, d)
	}
	fl.putOff = nil
	if fl.tail != nil {
		fl.errs = append(fl.errs, *fl.tail)
		fl.tail = nil
	}
}

// skips says which documents lintDocument reads no further than their
// kind (a List's items each have theirs).
func (fl *fileLinter) skips(kind string) bool {
	return kind != "" && kind != "ConfigMap" && !fl.engine.Wants(kind) && !strings.HasSuffix(kind, "List")
}

func (fl *fileLinter) lintDocument(ctx context.Context, d *Document) error {
	// Kinds no rule reads are parsed (a syntax error is still reported) but
	// neither decoded nor evaluated. ConfigMaps may hold Envoy configs.
	if kind := d.Kind(); kind != "" && kind != "ConfigMap" && !fl.engine.Wants(kind) {
		return nil
	}
	if kind := d.Kind(); kind != "" && kind != "ConfigMap" {
		if done, err := fl.lintObjectAST(ctx, d); done || err != nil {
			return err
		}
	}
	v, err := d.Decode()
	if err != nil {
		return err
	}
	m, isMap := v.(map[string]any)
	if isMap && isKubernetesObject(m) {
		ref := objectRef(m)
		ignored, unexplained := ignoredRules(m)
		if unexplained {
			fl.builtin(d, &report.RuleIgnoreWithoutReason, ref, []any{"metadata", "annotations", AnnotationIgnore},
				fmt.Sprintf("%s %s: %s is not honoured without %s", ref.Kind, ref.QualifiedName(), AnnotationIgnore, AnnotationIgnoreReason))
		}
		if fl.engine.Wants(ref.Kind) {
			if err := fl.eval(ctx, d, v, ref, ignored); err != nil {
				return err
			}
		}
		if ref.Kind == "ConfigMap" && (ref.APIVersion == "v1" || ref.APIVersion == "") {
			return fl.lintEmbeddedEnvoy(ctx, d, m, ref, ignored)
		}
		return nil
	}
	if format, ok := envoy.Detect(v); ok {
		name := path.Base(d.File)
		if d.Index > 0 {
			name = fmt.Sprintf("%s#%d", name, d.Index)
		}
		return fl.lintEnvoy(ctx, d, v, format, report.ObjectRef{APIVersion: envoy.APIVersion, Kind: envoy.Kind, Name: name}, nil)
	}
	return nil // neither a Kubernetes object nor an Envoy config: nothing to say
}

// lintObjectAST lints a Kubernetes object other than a ConfigMap as
// lintDocument does, from its Rego value alone: built from the nodes, it
// is what ast.InterfaceToValue makes of Decode's value, and the object's
// reference and annotations are read from it, so the plain Go value is
// never built. done is false for a document that is not such an object
// (a ConfigMap, an Envoy config, not an object): lintDocument goes on.
func (fl *fileLinter) lintObjectAST(ctx context.Context, d *Document) (done bool, err error) {
	av, err := d.decodeAST()
	if err != nil {
		return true, err
	}
	obj, ok := av.(ast.Object)
	if !ok {
		return false, nil
	}
	ref := report.ObjectRef{}
	apiVersion, a := astString(obj, "apiVersion")
	kind, k := astString(obj, "kind")
	if !a || !k || kind == "ConfigMap" {
		return false, nil
	}
	ref.APIVersion, ref.Kind = apiVersion, kind
	md, _ := astGet(obj, "metadata").(ast.Object)
	ref.Name, _ = astString(md, "name")
	if ref.Name == "" {
		if g, _ := astString(md, "generateName"); g != "" {
			ref.Name = g + "*"
		}
	}
	ref.Namespace, _ = astString(md, "namespace")
	ann, _ := astGet(md, "annotations").(ast.Object)
	list, _ := astString(ann, AnnotationIgnore)
	reason, _ := astString(ann, AnnotationIgnoreReason)
	ignored, unexplained := parseIgnored(list, reason)
	if unexplained {
		fl.builtin(d, &report.RuleIgnoreWithoutReason, ref, []any{"metadata", "annotations", AnnotationIgnore},
			fmt.Sprintf("%s %s: %s is not honoured without %s", ref.Kind, ref.QualifiedName(), AnnotationIgnore, AnnotationIgnoreReason))
	}
	if fl.engine.Wants(ref.Kind) {
		return true, fl.evalValue(ctx, d, av, ref, ignored)
	}
	return true, nil
}

// astGet is obj[key], nil when obj is nil or has no such key.
func astGet(obj ast.Object, key string) ast.Value {
	if obj == nil {
		return nil
	}
	if t := obj.Get(ast.InternedTerm(key)); t != nil {
		return t.Value
	}
	return nil
}

// astString is obj[key] when it is a string.
func astString(obj ast.Object, key string) (string, bool) {
	s, ok := astGet(obj, key).(ast.String)
	return string(s), ok
}

// lintEnvoy parses an Envoy config and evaluates the rules on it; a config
// Envoy would reject is a finding, not a silent pass, and the rules still
// run on the clusters of it that parse (envoy.Salvage).
func (fl *fileLinter) lintEnvoy(ctx context.Context, d *Document, v any, format envoy.Format, ref report.ObjectRef, ignored map[string]bool) error {
	input, err := envoy.Parse(v, format)
	if err != nil {
		var pe *envoy.ParseError
		var p []any
		msg := err.Error()
		if errors.As(err, &pe) {
			p, msg = pe.Path, pe.Reason
		}
		if !ignored[report.RuleEnvoyInvalid.ID] {
			fl.builtin(d, &report.RuleEnvoyInvalid, ref, p, fmt.Sprintf("%s %s: %s", envoy.Kind, ref.Name, msg))
		}
		input = envoy.Salvage(v, format)
		if clusters, _ := input["clusters"].([]any); len(clusters) == 0 {
			return nil
		}
	}
	value, err := envoy.Input(input, ref.Name, ref.Namespace)
	if err != nil {
		return fmt.Errorf("converting %s %s for the policies: %w", ref.Kind, ref.Name, err)
	}
	return fl.evalValue(ctx, d, value, ref, ignored)
}

// lintEmbeddedEnvoy lints Envoy configs held in a ConfigMap's data values.
// Each value is its own YAML text; positions inside it are offset to the
// value's place in the file.
func (fl *fileLinter) lintEmbeddedEnvoy(ctx context.Context, d *Document, cm map[string]any, ref report.ObjectRef, ignored map[string]bool) error {
	data, _ := cm["data"].(map[string]any)
	dataNode := mappingValue(d.Node, "data")
	for key, raw := range data {
		s, ok := raw.(string)
		if !ok || !envoy.MayHoldConfig(s) {
			continue
		}
		embedded, err := ParseDocuments(d.File, []byte(s))
		if err != nil || len(embedded) != 1 {
			continue // not YAML, or several documents: not a config Envoy reads
		}
		e := embedded[0]
		ev, err := e.Decode()
		if err != nil {
			continue
		}
		format, ok := envoy.Detect(ev)
		if !ok {
			continue
		}
		e.Index = d.Index
		if vn := mappingValue(dataNode, key); vn != nil {
			e.Base = embeddedBase(vn, d)
		}
		er := report.ObjectRef{APIVersion: envoy.APIVersion, Kind: envoy.Kind, Namespace: ref.Namespace, Name: ref.Name + "/" + key}
		if err := fl.lintEnvoy(ctx, e, ev, format, er, ignored); err != nil {
			return err
		}
	}
	return nil
}

// embeddedBase is where line 1 of a string value's text sits in the file:
// for a block scalar (| or >) the line after the key, indented; for a
// quoted or plain one-line value, the value itself.
func embeddedBase(vn *yaml.Node, d *Document) Position {
	if vn.Style&(yaml.LiteralStyle|yaml.FoldedStyle) != 0 {
		p := d.offset(Position{Line: vn.Line + 1, Column: vn.Column})
		return p
	}
	return d.offset(Position{Line: vn.Line, Column: vn.Column})
}

// builtin reports a finding of a rule implemented in Go.
func (fl *fileLinter) builtin(d *Document, r *report.Rule, ref report.ObjectRef, p []any, msg string) {
	if fl.cfg.ignoresRule(r.ID, d.File) {
		return
	}
	pos := d.Locate(p)
	fl.add(report.Finding{
		Rule: r.ID, Severity: fl.cfg.severity(r, r.Severity),
		File: d.File, Line: pos.Line, Column: pos.Column, Object: ref,
		Message: msg, Hint: r.Remediation,
	})
}

// add keeps a finding for the report. Its strings are copied: the parser's
// are carved out of chunks shared by many values, and a finding holding one
// would keep its whole chunk alive until the report is written.
func (fl *fileLinter) add(f report.Finding) {
	f.Object = report.ObjectRef{
		APIVersion: strings.Clone(f.Object.APIVersion), Kind: strings.Clone(f.Object.Kind),
		Namespace: strings.Clone(f.Object.Namespace), Name: strings.Clone(f.Object.Name),
	}
	f.Message, f.Hint = strings.Clone(f.Message), strings.Clone(f.Hint)
	fl.findings = append(fl.findings, f)
}

// eval runs the rules on one input and turns violations into findings.
func (fl *fileLinter) eval(ctx context.Context, d *Document, input any, ref report.ObjectRef, ignored map[string]bool) error {
	v, err := ast.InterfaceToValue(input)
	if err != nil {
		return fmt.Errorf("converting %s %s for the policies: %w", ref.Kind, ref.Name, err)
	}
	return fl.evalValue(ctx, d, v, ref, ignored)
}

func (fl *fileLinter) evalValue(ctx context.Context, d *Document, v ast.Value, ref report.ObjectRef, ignored map[string]bool) error {
	viols, err := fl.engine.Eval(ctx, v)
	if err != nil {
		return fmt.Errorf("evaluating %s %s: %w", ref.Kind, ref.Name, err)
	}
	for _, vi := range viols {
		if ignored[vi.Rule.ID] || fl.cfg.ignoresRule(vi.Rule.ID, d.File) {
			continue
		}
		pos := d.Locate(vi.Path)
		fl.add(report.Finding{
			Rule: vi.Rule.ID, Severity: fl.cfg.severity(vi.Rule, vi.Severity),
			File: d.File, Line: pos.Line, Column: pos.Column, Object: ref,
			Message: vi.Message, Hint: vi.Hint,
		})
	}
	return nil
}

func isKubernetesObject(m map[string]any) bool {
	_, a := m["apiVersion"].(string)
	_, k := m["kind"].(string)
	return a && k
}

func objectRef(m map[string]any) report.ObjectRef {
	ref := report.ObjectRef{}
	ref.APIVersion, _ = m["apiVersion"].(string)
	ref.Kind, _ = m["kind"].(string)
	if md, ok := m["metadata"].(map[string]any); ok {
		ref.Name, _ = md["name"].(string)
		if ref.Name == "" {
			if g, _ := md["generateName"].(string); g != "" {
				ref.Name = g + "*"
			}
		}
		ref.Namespace, _ = md["namespace"].(string)
	}
	return ref
}

// ignoredRules reads the object's lint-ignore annotation. Without a reason
// annotation it is not honoured, and unexplained says so.
func ignoredRules(m map[string]any) (ignored map[string]bool, unexplained bool) {
	md, _ := m["metadata"].(map[string]any)
	ann, _ := md["annotations"].(map[string]any)
	list, _ := ann[AnnotationIgnore].(string)
	reason, _ := ann[AnnotationIgnoreReason].(string)
	return parseIgnored(list, reason)
}

// parseIgnored reads the ignore annotation's list of rules and its reason.
func parseIgnored(list, reason string) (ignored map[string]bool, unexplained bool) {
	if strings.TrimSpace(list) == "" {
		return nil, false
	}
	if strings.TrimSpace(reason) == "" {
		return nil, true
	}
	out := map[string]bool{}
	for _, id := range strings.Split(list, ",") {
		if id = strings.TrimSpace(id); id != "" {
			out[id] = true
		}
	}
	return out, false
}
