package cni

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"k8s.io/client-go/tools/clientcmd"

	"github.com/inzone-io/inzone/test/golden"
)

func TestChain(t *testing.T) {
	in, err := os.ReadFile(filepath.Join("testdata", "calico.conflist"))
	if err != nil {
		t.Fatal(err)
	}
	out, added, err := Chain(in, "/etc/cni/net.d/inzone-cni.kubeconfig")
	if err != nil || !added {
		t.Fatalf("Chain = %v, %v", added, err)
	}
	golden.Assert(t, filepath.Join("testdata", "calico.chained.conflist"), out)
	again, added, err := Chain(out, "/etc/cni/net.d/inzone-cni.kubeconfig")
	if err != nil || added || string(again) != string(out) {
		t.Errorf("a second Chain changed the conflist: %v %v", added, err)
	}
	for _, bad := range []string{"", "{", `{"plugins": []}`, `{"type": "bridge"}`, `{"plugins": "calico"}`} {
		if _, _, err := Chain([]byte(bad), "k"); err == nil {
			t.Errorf("Chain(%q) accepted", bad)
		}
	}
}

func TestInstall(t *testing.T) {
	dir := t.TempDir()
	bin, conf, sa := filepath.Join(dir, "bin"), filepath.Join(dir, "net.d"), filepath.Join(dir, "sa")
	for _, d := range []string{bin, conf, sa} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	self := filepath.Join(dir, "self")
	write := func(path, data string) {
		t.Helper()
		if err := os.WriteFile(path, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write(self, "#!binary")
	write(filepath.Join(sa, "token"), "tok-1\n")
	write(filepath.Join(sa, "ca.crt"), "-----BEGIN CERTIFICATE-----\n")
	o := InstallOptions{Self: self, BinDir: bin, ConfDir: conf, HostConfDir: "/etc/cni/net.d", ServiceAccountDir: sa, APIServer: "https://10.96.0.1:443"}

	// Before the primary plugin writes its conflist: binary and kubeconfig
	// in place, the chaining waits for the next run.
	changed, err := Install(o)
	if err == nil || !strings.Contains(err.Error(), "no CNI conflist") {
		t.Fatalf("Install before the primary plugin = %v, want an error", err)
	}
	if want := []string{filepath.Join(bin, PluginType), filepath.Join(conf, PluginType+".kubeconfig")}; !slices.Equal(changed, want) {
		t.Errorf("changed = %v, want %v", changed, want)
	}
	calico, _ := os.ReadFile(filepath.Join("testdata", "calico.conflist"))
	write(filepath.Join(conf, "10-calico.conflist"), string(calico))
	write(filepath.Join(conf, "99-other.conflist"), string(calico))
	changed, err = Install(o)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{filepath.Join(conf, "10-calico.conflist")}
	if !slices.Equal(changed, want) {
		t.Errorf("changed = %v, want %v", changed, want)
	}
	if st, _ := os.Stat(filepath.Join(bin, PluginType)); st == nil || st.Mode().Perm() != 0o755 {
		t.Errorf("plugin binary mode: %v", st)
	}
	if st, _ := os.Stat(filepath.Join(conf, PluginType+".kubeconfig")); st == nil || st.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode: %v", st)
	}
	kc, err := clientcmd.LoadFromFile(filepath.Join(conf, PluginType+".kubeconfig"))
	if err != nil || kc.AuthInfos["inzone-cni"].Token != "tok-1" || kc.Clusters["cluster"].Server != "https://10.96.0.1:443" {
		t.Errorf("kubeconfig: %+v, %v", kc, err)
	}
	if other, _ := os.ReadFile(filepath.Join(conf, "99-other.conflist")); string(other) != string(calico) {
		t.Error("a conflist the runtime does not use was changed")
	}

	if changed, err := Install(o); err != nil || len(changed) != 0 {
		t.Errorf("a second Install changed %v (%v)", changed, err)
	}
	write(filepath.Join(sa, "token"), "tok-2\n")
	if changed, err := Install(o); err != nil || !slices.Equal(changed, []string{filepath.Join(conf, PluginType+".kubeconfig")}) {
		t.Errorf("after token rotation Install changed %v (%v)", changed, err)
	}
}
