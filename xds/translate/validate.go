package translate

import (
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/inzone-io/inzone/internal/anywalk"
)

// Validate checks every resource against protoc-gen-validate's rules, the
// ones Envoy applies when it loads a resource: ValidateAll on the resource
// and on every message packed in a google.protobuf.Any inside it (typed
// configs of filters, protocol options, Anys within those), which
// ValidateAll alone does not look into. A snapshot Envoy would reject is
// never served. These are the API's declared rules only: no Envoy runs
// here, so what Envoy checks in its own code (a filter chain matched
// twice, a cluster a route names but nobody serves) is not checked.
//
// The error names at most maxReported resources, and at most maxReported
// errors in each, and counts the rest: one systematic mistake must not
// make a log line of every resource.
func (o *Output) Validate() error {
	var errs []error
	d := newDeepValidator()
	failed := 0
	check := func(kind, name string, m proto.Message) {
		if err := d.validate(m); err != nil {
			if failed++; failed <= maxReported {
				errs = append(errs, fmt.Errorf("%s %s: %w", kind, truncate(name, 256), err))
			}
		}
	}
	for _, c := range o.Clusters {
		check("cluster", c.GetName(), c)
	}
	for _, e := range slices.Concat(o.Endpoints, o.Local) {
		check("endpoints", e.GetClusterName(), e)
	}
	for _, l := range slices.Concat(o.Listeners, o.APIListeners) {
		check("listener", l.GetName(), l)
	}
	for _, r := range o.Routes {
		check("route", r.GetName(), r)
	}
	// A scope's clusters are the full view's, checked above; its route
	// table is its own.
	for _, sc := range o.Scopes {
		check("route of "+sc.Identity, sc.Route.GetName(), sc.Route)
	}
	if failed > maxReported {
		errs = append(errs, fmt.Errorf("and %d more resources fail", failed-maxReported))
	}
	return errors.Join(errs...)
}

// maxReported bounds the errors Validate reports.
const maxReported = 10

// deepValidator runs ValidateAll on a resource and on every message
// packed in an Any anywhere in it (anywalk.Walker: fields, list elements
// and map values, and the messages unpacked from Anys, at any depth). An
// Any that does not unpack (empty, a type not linked into this binary,
// bytes that do not parse) is an error too: Envoy could not instantiate it
// either. Each error names its path from the resource, an unpacked
// message's type in parentheses:
// "filter_chains[0].filters[0].typed_config(envoy...HttpConnectionManager)".
// A path is rendered only for an error, so the cost is ValidateAll's plus
// the Anys' unpacking (BenchmarkValidate).
type deepValidator struct {
	walker  anywalk.Walker // its path stack is reused from one resource to the next
	errs    []error
	dropped int // errors past maxReported
}

func newDeepValidator() *deepValidator {
	d := &deepValidator{}
	d.walker = anywalk.Walker{Unpack: d.unpack, Visit: d.check}
	return d
}

func (d *deepValidator) validate(m proto.Message) error {
	d.errs, d.dropped = nil, 0
	d.walker.Walk(m)
	if d.dropped > 0 {
		d.errs = append(d.errs, fmt.Errorf("and %d more errors", d.dropped))
	}
	return errors.Join(d.errs...)
}

func (d *deepValidator) fail(path []anywalk.Step, err error) {
	if len(d.errs) >= maxReported {
		d.dropped++
		return
	}
	if len(path) > 0 {
		err = fmt.Errorf("%s: %w", renderPath(path), err)
	}
	d.errs = append(d.errs, err)
}

func (d *deepValidator) check(m proto.Message, path []anywalk.Step) {
	if v, ok := m.(interface{ ValidateAll() error }); ok {
		if err := v.ValidateAll(); err != nil {
			d.fail(path, err)
		}
	}
}

func (d *deepValidator) unpack(a *anypb.Any, path []anywalk.Step) proto.Message {
	inner, err := a.UnmarshalNew()
	if err != nil {
		d.fail(path, fmt.Errorf("typed config %q does not unpack: %w", a.GetTypeUrl(), err))
		return nil
	}
	return inner
}

func renderPath(path []anywalk.Step) string {
	var b strings.Builder
	for _, s := range path {
		switch {
		case s.Field == nil:
			b.WriteString("(" + string(s.Unpacked) + ")")
		default:
			if b.Len() > 0 {
				b.WriteByte('.')
			}
			b.WriteString(string(s.Field.Name()))
			if s.Index >= 0 {
				b.WriteString("[" + strconv.Itoa(s.Index) + "]")
			} else if s.Field.IsMap() {
				b.WriteString("[" + s.Key + "]")
			}
		}
	}
	return b.String()
}
