package main

import (
	"slices"
	"testing"

	"k8s.io/client-go/rest"
)

// TestFirstClusterIsLocal: the cluster the sidecars run in, whose nodes
// and pods alone decide whether the listeners bind IPv6, is the pod's own
// with --in-cluster, else the first --kubeconfig, else the one default
// cluster; only one is.
func TestFirstClusterIsLocal(t *testing.T) {
	f := newFixtures(t)
	a, b := f.kubeconfig(nil, nil), f.kubeconfig(nil, nil)
	restore := inClusterConfig
	inClusterConfig = func() (*rest.Config, error) { return &rest.Config{Host: "https://127.0.0.1:1"}, nil }
	t.Cleanup(func() { inClusterConfig = restore })
	t.Run("no flag: the default cluster", func(t *testing.T) {
		t.Setenv("KUBECONFIG", a)
		got, err := restConfigs(nil, false)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 1 || !got[0].local {
			t.Errorf("got %+v, want one local cluster", got)
		}
	})
	for _, tc := range []struct {
		name      string
		paths     []string
		inCluster bool
		want      []bool
	}{
		{"one --kubeconfig", []string{a}, false, []bool{true}},
		{"two --kubeconfig: the first", []string{a, b}, false, []bool{true, false}},
		{"the other order", []string{b, a}, false, []bool{true, false}},
		{"--in-cluster and two --kubeconfig: the pod's own", []string{a, b}, true, []bool{true, false, false}},
		{"--in-cluster alone", nil, true, []bool{true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := restConfigs(tc.paths, tc.inCluster)
			if err != nil {
				t.Fatal(err)
			}
			var local []bool
			for _, c := range got {
				local = append(local, c.local)
			}
			if !slices.Equal(local, tc.want) {
				t.Errorf("local %v, want %v", local, tc.want)
			}
			if tc.inCluster && got[0].name != inClusterName {
				t.Errorf("first cluster %s, want %s", got[0].name, inClusterName)
			}
		})
	}
}
