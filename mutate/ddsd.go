package mutate

import (
	"fmt"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/inzone-io/inzone/elb"
)

// DDSDRewrite records one ELB hostname replaced by a DDSD name, in the
// inzone.io/ddsd-rewrites annotation, so the rewrite can be audited and
// undone.
type DDSDRewrite struct {
	Container string `json:"container"`
	// Field is env[NAME], args[i] or command[i].
	Field string `json:"field"`
	From  string `json:"from"`
	To    string `json:"to"`
}

// rewriteELBs points clients at the DDSD name instead of an ELB hostname, so
// their sidecar resolves the service through EDS and goes pod to pod in the
// same zone instead of through the load balancer.
func (e *Engine) rewriteELBs(st *podState) error {
	for _, list := range appContainers(st.pod) {
		for i := range list.containers {
			c := &list.containers[i]
			if c.Name == SidecarName {
				continue
			}
			// Field names and paths are built only for strings that hold an
			// ELB hostname: a pod may have thousands of env vars and none.
			for j := range c.Env {
				if v := c.Env[j].Value; v != "" {
					e.rewriteOne(st, c.Name, v, func() (string, string) {
						return "env[" + c.Env[j].Name + "]", list.path + "/" + strconv.Itoa(i) + "/env/" + strconv.Itoa(j) + "/value"
					})
				}
			}
			for j, a := range c.Args {
				e.rewriteOne(st, c.Name, a, func() (string, string) {
					return "args[" + strconv.Itoa(j) + "]", list.path + "/" + strconv.Itoa(i) + "/args/" + strconv.Itoa(j)
				})
			}
			for j, a := range c.Command {
				e.rewriteOne(st, c.Name, a, func() (string, string) {
					return "command[" + strconv.Itoa(j) + "]", list.path + "/" + strconv.Itoa(i) + "/command/" + strconv.Itoa(j)
				})
			}
		}
	}
	return nil
}

// rewriteOne rewrites the ELB hostnames in one string; where names the
// string's field and JSON pointer.
func (e *Engine) rewriteOne(st *podState, container, s string, where func() (field, path string)) {
	out, rewrites, unknown := elb.Rewrite(s, func(key string) (string, bool) { return e.LookupELB(key, st.namespace) })
	if len(rewrites) == 0 && len(unknown) == 0 {
		return
	}
	field, path := where()
	for _, u := range unknown {
		st.warn("container %s %s: load balancer %s has no known DDSD name; left unchanged", container, field, u)
	}
	if len(rewrites) == 0 {
		return
	}
	if e.cfg.DDSD.DNS == DDSDResolverNone {
		// The DDSD name would not resolve: keep the working hostname.
		for _, r := range rewrites {
			st.skip(MutationDDSDRewrite, SkipDDSDNotServed, true,
				"container %s %s: %s left unchanged: nothing resolves %s (set ddsd.dns to inzone-xds or external once the domain resolves)",
				container, field, r.From, r.To)
		}
		return
	}
	st.replace(path, out)
	for _, r := range rewrites {
		st.rewrites = append(st.rewrites, DDSDRewrite{Container: container, Field: field, From: r.From, To: r.To})
		st.change(MutationDDSDRewrite, "container %s %s: %s -> %s", container, field, r.From, r.To)
	}
}

// LookupELB maps a canonical ELB hostname to its DDSD name: the config's map
// first, then the live Services. A name the template renders that is not a
// DNS name (a resolver's bad input, a name over 253 characters) is no
// answer: it would be written into the pod's commands.
func (e *Engine) LookupELB(key, podNamespace string) (string, bool) {
	if svc, ok := e.elbs[key]; ok {
		return validDDSDName(e.DDSDName(svc, podNamespace))
	}
	if e.resolver != nil {
		if ref, ok := e.resolver.Resolve(key); ok {
			return validDDSDName(e.DDSDName(ref.Name, ref.Namespace))
		}
	}
	return "", false
}

func validDDSDName(name string) (string, bool) {
	if len(validation.IsDNS1123Subdomain(name)) > 0 {
		return "", false
	}
	return name, true
}

// nameTemplate is a DDSD name template with the placeholders {service},
// {namespace} and {env}. Plain placeholders rather than text/template: the
// names are rendered on the admission path, and nothing more is needed.
type nameTemplate struct {
	parts   []string // literal text and placeholders, in order
	usesEnv bool
}

var namePlaceholders = []string{"{service}", "{namespace}", "{env}"}

func parseNameTemplate(s string) (nameTemplate, error) {
	var t nameTemplate
	hasService := false
	for rest := s; rest != ""; {
		i := strings.IndexByte(rest, '{')
		if i < 0 {
			t.parts = append(t.parts, rest)
			break
		}
		if i > 0 {
			t.parts = append(t.parts, rest[:i])
		}
		j := strings.IndexByte(rest[i:], '}')
		if j < 0 {
			return t, fmt.Errorf("unclosed placeholder at %q", rest[i:])
		}
		ph := rest[i : i+j+1]
		known := false
		for _, p := range namePlaceholders {
			known = known || p == ph
		}
		if !known {
			return t, fmt.Errorf("unknown placeholder %s (known: %s)", ph, strings.Join(namePlaceholders, ", "))
		}
		hasService = hasService || ph == "{service}"
		t.usesEnv = t.usesEnv || ph == "{env}"
		t.parts = append(t.parts, ph)
		rest = rest[i+j+1:]
	}
	if !hasService {
		return t, fmt.Errorf("must contain {service}")
	}
	return t, nil
}

func (t nameTemplate) render(service, namespace, env string) string {
	var b strings.Builder
	for _, p := range t.parts {
		switch p {
		case "{service}":
			b.WriteString(service)
		case "{namespace}":
			b.WriteString(namespace)
		case "{env}":
			b.WriteString(env)
		default:
			b.WriteString(p)
		}
	}
	return strings.ToLower(b.String())
}

// DDSDDomain returns the DNS domain every DDSD name ends in, without a
// trailing dot: the template's literal text after its last {service} or
// {namespace} placeholder, from its first dot, with {env} filled in
// ("service.prod.ddsd" for the default template). It is what a DNS server
// for the DDSD names serves, and what a cluster DNS forwards to it. Empty
// when the names share no domain (a template ending in {service}). It
// expects a validated Config.
func (c *Config) DDSDDomain() string {
	t, err := parseNameTemplate(c.DDSD.NameTemplate)
	if err != nil {
		return ""
	}
	last := -1
	for i, p := range t.parts {
		if p == "{service}" || p == "{namespace}" {
			last = i
		}
	}
	tail := nameTemplate{parts: t.parts[last+1:]}.render("", "", c.DDSD.Env)
	i := strings.IndexByte(tail, '.')
	if i < 0 {
		return ""
	}
	return strings.TrimSuffix(tail[i+1:], ".")
}
