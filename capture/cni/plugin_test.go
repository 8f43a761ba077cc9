package cni

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/containernetworking/cni/pkg/skel"

	"github.com/inzone-io/inzone/capture"
	"github.com/inzone-io/inzone/mutate"
)

// requireRoot skips (or, with INZONE_E2E_REQUIRED=1 as root, fails) when
// the test cannot create a network namespace and install rules.
func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("inzone-cni tests need root (network namespaces, iptables): skipped")
	}
	for _, tool := range []string{"ip", "iptables-restore", "iptables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("INZONE_E2E_REQUIRED") == "1" {
				t.Fatalf("inzone-cni tests need %s", tool)
			}
			t.Skipf("inzone-cni tests need %s: skipped", tool)
		}
	}
}

// netns creates a network namespace for the test and returns its path.
func netns(t *testing.T, name string) string {
	t.Helper()
	name += "-" + strconv.Itoa(os.Getpid())
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
	return "/run/netns/" + name
}

func natRules(t *testing.T, path string) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", path[strings.LastIndexByte(path, '/')+1:], "iptables-save", "-t", "nat").Output()
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for l := range strings.Lines(string(out)) {
		if !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, ":") {
			b.WriteString(l)
		}
	}
	return b.String()
}

// pods stands in for the API server.
func pods(annotations map[string]map[string]string) PodAnnotations {
	return func(_ context.Context, kubeconfig, namespace, name string) (map[string]string, error) {
		if kubeconfig != "/etc/cni/net.d/inzone-cni.kubeconfig" {
			return nil, errors.New("wrong kubeconfig " + kubeconfig)
		}
		a, ok := annotations[namespace+"/"+name]
		if !ok {
			return nil, errors.New("pods \"" + name + "\" not found")
		}
		return a, nil
	}
}

const prevResult = `{"cniVersion":"1.0.0","interfaces":[{"name":"eth0","sandbox":"/x"}],"ips":[{"address":"192.0.2.10/24","interface":0}]}`

func cmdArgs(netnsPath, pod string) *skel.CmdArgs {
	ns, name, _ := strings.Cut(pod, "/")
	conf := `{"cniVersion":"1.0.0","name":"k8s-pod-network","type":"inzone-cni","kubeconfig":"/etc/cni/net.d/inzone-cni.kubeconfig","prevResult":` + prevResult + `}`
	return &skel.CmdArgs{
		ContainerID: "c0ffee", Netns: netnsPath, IfName: "eth0",
		Args:      "IgnoreUnknown=1;K8S_POD_NAMESPACE=" + ns + ";K8S_POD_NAME=" + name + ";K8S_POD_INFRA_CONTAINER_ID=c0ffee",
		StdinData: []byte(conf),
	}
}

func TestPluginAddCheckDel(t *testing.T) {
	requireRoot(t)
	settings := capture.Settings{ProxyUID: 1337, OutboundPort: 15001, InboundPort: 15006, ExcludeInboundPorts: []uint16{15000, 15021}}
	js, _ := json.Marshal(settings)
	var out bytes.Buffer
	p := &Plugin{Out: &out, Annotations: pods(map[string]map[string]string{
		"shop/web":     {mutate.AnnotationCaptureCNI: string(js)},
		"shop/plain":   {},
		"shop/bad":     {mutate.AnnotationCaptureCNI: `{"proxyUID":0,"outboundPort":15001,"inboundPort":15006}`},
		"shop/unknown": {mutate.AnnotationCaptureCNI: `{"proxyUID":1337,"outboundPort":15001,"inboundPort":15006,"shell":"rm -rf /"}`},
	})}

	t.Run("ADD installs the pod's rules and passes the previous result on", func(t *testing.T) {
		path := netns(t, "inzcni-web")
		if err := p.Add(cmdArgs(path, "shop/web")); err != nil {
			t.Fatal(err)
		}
		var got, want map[string]any
		_ = json.Unmarshal(out.Bytes(), &got)
		_ = json.Unmarshal([]byte(prevResult), &want)
		if g, w := mustJSON(got["ips"]), mustJSON(want["ips"]); g != w {
			t.Errorf("result ips = %s, want %s", g, w)
		}
		rules := natRules(t, path)
		for _, want := range append([]string{"-A INZONE_OUTPUT -m owner --uid-owner 1337 -j RETURN", "--to-ports 15001"}, capture.Jumps...) {
			if !strings.Contains(rules, want) {
				t.Errorf("rules lack %q:\n%s", want, rules)
			}
		}
		if err := p.Check(cmdArgs(path, "shop/web")); err != nil {
			t.Errorf("CHECK after ADD: %v", err)
		}
		out.Reset()
		if err := p.Add(cmdArgs(path, "shop/web")); err != nil {
			t.Fatal(err)
		}
		if again := natRules(t, path); again != rules {
			t.Errorf("a second ADD changed the rules:\n%s\nwant\n%s", again, rules)
		}
		if err := p.Del(cmdArgs(path, "shop/web")); err != nil {
			t.Errorf("DEL: %v", err)
		}
	})
	t.Run("CHECK fails where the rules are missing", func(t *testing.T) {
		path := netns(t, "inzcni-empty")
		if err := p.Check(cmdArgs(path, "shop/web")); err == nil || !strings.Contains(err.Error(), "missing") {
			t.Errorf("CHECK = %v, want a missing rule", err)
		}
	})
	t.Run("a pod without the annotation gets no rules", func(t *testing.T) {
		path := netns(t, "inzcni-plain")
		out.Reset()
		if err := p.Add(cmdArgs(path, "shop/plain")); err != nil {
			t.Fatal(err)
		}
		if rules := natRules(t, path); strings.Contains(rules, "INZONE") {
			t.Errorf("rules installed:\n%s", rules)
		}
		if !strings.Contains(out.String(), "192.0.2.10/24") {
			t.Errorf("previous result not passed on: %s", out.String())
		}
	})
	for _, tt := range []struct{ pod, want string }{
		{"shop/bad", "proxy-uid"},
		{"shop/unknown", "unknown field"},
		{"shop/gone", "not found"},
	} {
		t.Run("ADD refuses "+tt.pod, func(t *testing.T) {
			path := netns(t, "inzcni-bad")
			err := p.Add(cmdArgs(path, tt.pod))
			if err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), tt.pod) {
				t.Errorf("ADD = %v, want an error naming %s and %q", err, tt.pod, tt.want)
			}
			if rules := natRules(t, path); strings.Contains(rules, "INZONE") {
				t.Errorf("rules installed:\n%s", rules)
			}
		})
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// TestCheckVerifiesEachFamily: CHECK looks at the nat table of every family
// ADD installs, IPv6 too when the pod's namespace has it, and names the
// family whose jump is gone.
func TestCheckVerifiesEachFamily(t *testing.T) {
	requireRoot(t)
	for _, tool := range []string{"ip6tables", "ip6tables-restore", "ip6tables-save", "sysctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("needs %s: skipped", tool)
		}
	}
	js, _ := json.Marshal(capture.Settings{ProxyUID: 1337, OutboundPort: 15001, InboundPort: 15006})
	p := &Plugin{Out: io.Discard, Annotations: pods(map[string]map[string]string{"shop/web": {mutate.AnnotationCaptureCNI: string(js)}})}
	tests := []struct {
		name    string
		ipv6Off bool
		after   []string // run in the pod's namespace after ADD
		want    string   // in CHECK's error; empty: CHECK passes
	}{
		{name: "both families installed pass"},
		{name: "a missing IPv6 jump fails naming IPv6", after: []string{"ip6tables", "-t", "nat", "-D", "OUTPUT", "-p", "tcp", "-j", capture.ChainOutbound},
			want: `IPv6 rule "-A OUTPUT -p tcp -j INZONE_OUTPUT" missing`},
		{name: "a missing IPv4 jump fails naming IPv4", after: []string{"iptables", "-t", "nat", "-D", "PREROUTING", "-p", "tcp", "-j", capture.ChainInbound},
			want: `IPv4 rule "-A PREROUTING -p tcp -j INZONE_INBOUND" missing`},
		{name: "a pod without IPv6 has only IPv4 to check", ipv6Off: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := netns(t, "inzcni-fam")
			if tt.ipv6Off {
				inNetns(t, path, "sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1")
			}
			if err := p.Add(cmdArgs(path, "shop/web")); err != nil {
				t.Fatal(err)
			}
			v6 := inNetns(t, path, "ip6tables-save", "-t", "nat")
			if installed := strings.Contains(v6, capture.Jumps[1]); installed == tt.ipv6Off {
				t.Errorf("IPv6 off %v, IPv6 rules installed %v:\n%s", tt.ipv6Off, installed, v6)
			}
			if tt.after != nil {
				inNetns(t, path, tt.after...)
			}
			err := p.Check(cmdArgs(path, "shop/web"))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("CHECK: %v", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), "shop/web")):
				t.Errorf("CHECK = %v, want an error naming shop/web and %s", err, tt.want)
			}
		})
	}
}

// inNetns runs a command in the namespace at path and returns its output.
func inNetns(t *testing.T, path string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", path[strings.LastIndexByte(path, '/')+1:]}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%q: %v: %s", args, err, out)
	}
	return string(out)
}
