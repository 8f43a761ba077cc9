package envoy

import (
	"testing"

	"github.com/inzone-io/inzone/lint/envoy/envoytypes"
)

// TestSuccessorsGenerated regenerates the successor table in memory, from
// the registry, and fails when successors.go differs: go generate
// ./lint/envoy after hack/gen-envoytypes.sh or a go-control-plane update.
func TestSuccessorsGenerated(t *testing.T) {
	want := envoytypes.Successors()
	got := successors()
	if len(want) == 0 {
		t.Fatal("the registry has no versioning annotations: the test checks nothing")
	}
	for prev, next := range want {
		if got[prev] != next {
			t.Errorf("%s: succeeded by %s in the registry, by %q in successors.go", prev, next, got[prev])
		}
	}
	for prev, next := range got {
		if _, ok := want[prev]; !ok {
			t.Errorf("%s: succeeded by %s in successors.go, not in the registry", prev, next)
		}
	}
	if t.Failed() {
		t.Log("successors.go is stale: go generate ./lint/envoy")
	}
}
