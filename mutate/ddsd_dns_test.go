package mutate

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestDDSDRewriteOnlyWhenTheDomainResolves: a rewrite must never turn a
// working ELB hostname into a DDSD name nothing resolves.
func TestDDSDRewriteOnlyWhenTheDomainResolves(t *testing.T) {
	tests := []struct {
		name        string
		dns         DDSDResolver
		wantRewrite bool
	}{
		{name: "by default nothing resolves the domain: the hostname stays, with a warning", dns: "", wantRewrite: false},
		{name: "none keeps the hostname", dns: DDSDResolverNone, wantRewrite: false},
		{name: "inzone-xds's DNS lets the rewrite happen", dns: DDSDResolverInzoneXDS, wantRewrite: true},
		{name: "a domain resolved elsewhere lets the rewrite happen", dns: DDSDResolverExternal, wantRewrite: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.DDSD.ELBs = map[string]string{"internal-orders-1234567890.us-east-1.elb.amazonaws.com": "orders"}
			cfg.DDSD.DNS = tt.dns
			e, err := NewEngine(cfg, Options{ControlPlaneCA: []byte(testControlPlaneCA)})
			if err != nil {
				t.Fatal(err)
			}
			pod := readPod(t, filepath.Join("testdata", "pods", "web-all-mutations.yaml"))
			res, err := e.Mutate(pod, Namespace{Name: "shop"})
			if err != nil {
				t.Fatal(err)
			}
			rewrote := slices.Contains(res.Applied, MutationDDSDRewrite)
			if rewrote != tt.wantRewrite {
				t.Fatalf("rewrite applied = %v, want %v", rewrote, tt.wantRewrite)
			}
			var skipped []Skip
			for _, s := range res.Skips {
				if s.Reason == SkipDDSDNotServed {
					skipped = append(skipped, s)
				}
			}
			if tt.wantRewrite {
				if len(skipped) != 0 {
					t.Errorf("skips %+v with a resolved domain", skipped)
				}
				return
			}
			// Nothing half-applied: no replace of the hostname, no rewrites annotation.
			for _, op := range res.Patch {
				if s, ok := op.Value.(string); ok && strings.Contains(s, "orders.service.prod.ddsd") {
					t.Errorf("patch writes the DDSD name: %+v", op)
				}
				if strings.Contains(op.Path, "ddsd-rewrites") {
					t.Errorf("patch records rewrites: %+v", op)
				}
			}
			if len(skipped) == 0 || !strings.Contains(skipped[0].Message, "internal-orders-1234567890.us-east-1.elb.amazonaws.com left unchanged") {
				t.Fatalf("no skip naming the hostname: %+v", res.Skips)
			}
			if !slices.ContainsFunc(res.Warnings, func(w string) bool { return strings.Contains(w, "nothing resolves orders.service.prod.ddsd") }) {
				t.Errorf("no warning: %v", res.Warnings)
			}
			// Every other mutation still applies.
			if !slices.Contains(res.Applied, MutationSidecar) || !slices.Contains(res.Applied, MutationSpread) {
				t.Errorf("applied = %v", res.Applied)
			}
		})
	}
}

func TestDDSDResolverIsValidated(t *testing.T) {
	_, err := LoadConfig([]byte("ddsd:\n  dns: coredns\n"), "inzone.yaml")
	if err == nil || !strings.Contains(err.Error(), "line 2") || !strings.Contains(err.Error(), "ddsd.dns") {
		t.Fatalf("error %v, want one naming line 2 and ddsd.dns", err)
	}
}
