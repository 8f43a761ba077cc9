package main

import (
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/envoyproxy/go-control-plane/pkg/cache/types"
	cachev3 "github.com/envoyproxy/go-control-plane/pkg/cache/v3"
)

func TestParseChange(t *testing.T) {
	for _, tc := range []struct {
		query   string
		service int
		ips     []string
		wantErr string
	}{
		{"service=3&ips=10.0.0.1,10.0.0.2", 3, []string{"10.0.0.1", "10.0.0.2"}, ""},
		{"service=9&ips=10.0.0.1", 0, nil, "service: want 0 to 8"},
		{"service=-1&ips=10.0.0.1", 0, nil, "service: want 0 to 8"},
		{"service=x&ips=10.0.0.1", 0, nil, "service: want 0 to 8"},
		{"service=1&ips=", 0, nil, `ips: ParseAddr(""): unable to parse IP`},
		{"service=1&ips=10.0.0.1%20rm%20-rf", 0, nil, `ips: ParseAddr("10.0.0.1 rm -rf"): unexpected character (at " rm -rf")`},
		{"service=1&ips=10.0.0.1;x", 0, nil, `ips: ParseAddr(""): unable to parse IP`}, // Go drops a pair with ";"
	} {
		t.Run(tc.query, func(t *testing.T) {
			k, ips, err := parseChange(httptest.NewRequest("POST", "/endpoints?"+tc.query, nil), 9)
			if tc.wantErr != "" {
				if err == nil || err.Error() != tc.wantErr {
					t.Fatalf("error %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil || k != tc.service || !slices.Equal(ips, tc.ips) {
				t.Fatalf("got %d %v %v, want %d %v", k, ips, err, tc.service, tc.ips)
			}
		})
	}
}

// The resources pass go-control-plane's validation, as inzone's must, so
// the comparison is between servers of valid configuration.
func TestResourcesValidate(t *testing.T) {
	for _, r := range []types.Resource{
		edsCluster(clusterName(7)),
		loadAssignment(clusterName(7), []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"}),
		loadAssignment(identityName(2), nil),
	} {
		if err := r.(interface{ ValidateAll() error }).ValidateAll(); err != nil {
			t.Errorf("%s: %v", cachev3.GetResourceName(r), err)
		}
	}
	la := loadAssignment(clusterName(0), []string{"10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4"})
	var zones []string
	for _, l := range la.Endpoints {
		zones = append(zones, l.Locality.Zone)
		if int(l.LoadBalancingWeight.GetValue()) != len(l.LbEndpoints) {
			t.Errorf("%s: weight %d for %d endpoints", l.Locality.Zone, l.LoadBalancingWeight.GetValue(), len(l.LbEndpoints))
		}
	}
	if want := []string{"us-east-1a", "us-east-1b", "us-east-1c"}; !slices.Equal(zones, want) {
		t.Errorf("zones %v, want %v", zones, want)
	}
}
