package mutate

import (
	"strings"
	"testing"
)

func TestDDSDDomain(t *testing.T) {
	tests := []struct {
		name, tmpl, env, want string
	}{
		{"the default template ends in the env's domain", "{service}.service.{env}.ddsd", "prod", "service.prod.ddsd"},
		{"a namespace placeholder is not part of the domain", "{service}.{namespace}.svc.ddsd", "", "svc.ddsd"},
		{"env before the service is not part of the domain", "{env}-{service}.mesh.internal", "prod", "mesh.internal"},
		{"text glued to the last placeholder starts at the next dot", "{service}-{env}x.ddsd", "prod", "ddsd"},
		{"env in the domain is lower-cased like the names", "{service}.{env}.ddsd", "Staging", "staging.ddsd"},
		{"a template ending in a placeholder has no domain", "ddsd.{service}", "", ""},
		{"a template with no dot after the service has no domain", "{service}-svc", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			c.DDSD.NameTemplate, c.DDSD.Env = tt.tmpl, tt.env
			got := c.DDSDDomain()
			if got != tt.want {
				t.Fatalf("DDSDDomain() = %q, want %q", got, tt.want)
			}
			// Every name the template renders is inside the domain.
			e, err := NewEngine(c, Options{})
			if err != nil {
				t.Fatal(err)
			}
			name := e.DDSDName("orders", "shop")
			if got != "" && !strings.HasSuffix(name, "."+got) {
				t.Errorf("name %q is not under %q", name, got)
			}
		})
	}
}
