// Package capture_test checks `inzone capture init` for real: it builds the
// binary, installs the rules in network namespaces the test creates (veth
// pairs, documentation addresses only) and opens connections through them;
// and runs HTTP and gRPC clients with the proxy-env mode's variables.
package capture_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/containernetworking/plugins/pkg/ns"
	"golang.org/x/sys/unix"

	"github.com/inzone-io/inzone/test/envtest"
)

const (
	appUID   = 1000
	proxyUID = 1337
	// ioTimeout bounds each connection so a broken rule fails the test
	// instead of hanging it; nothing is measured.
	ioTimeout = 10 * time.Second
)

// requireRootAndIptables skips (or, with INZONE_E2E_REQUIRED=1 as root, as
// in CI, fails) when the test cannot create namespaces or install rules.
func requireRootAndIptables(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("traffic capture tests need root (network namespaces, iptables): skipped")
	}
	missing := []string{}
	for _, tool := range []string{"ip", "iptables-restore", "iptables-save", "ip6tables-restore", "ip6tables-save"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if len(missing) > 0 {
		msg := "traffic capture tests need " + strings.Join(missing, ", ") + " (apt-get install -y iptables iproute2)"
		if os.Getenv("INZONE_E2E_REQUIRED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg + ": skipped")
	}
}

var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// buildInzone builds the real inzone binary, once per test binary.
func buildInzone(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		if binDir, buildErr = os.MkdirTemp("", "inzone-capture-test-"); buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", filepath.Join(binDir, "inzone"), "github.com/inzone-io/inzone/cmd/inzone")
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, "inzone")
}

func TestMain(m *testing.M) {
	if os.Getenv(proxyEnvClientVar) == "1" {
		os.Exit(proxyEnvClient())
	}
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	if err := envtest.RemoveBuiltBinaries(); err != nil {
		fmt.Fprintln(os.Stderr, err)
	}
	os.Exit(code)
}

func run(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// topology is two namespaces joined by a veth pair: app (the pod, where
// the rules go) and peer (everything else: other pods, the outside).
type topology struct {
	app, peer     string // namespace names
	appNS, peerNS ns.NetNS
}

// newTopology creates the namespaces. App has 192.0.2.1 and 2001:db8::1;
// peer has 192.0.2.2 and 2001:db8::2 on the link, and on its loopback the
// "remote" addresses 198.51.100.7, 203.0.113.7 and 2001:db8:1::7, which
// app routes through peer.
func newTopology(t *testing.T) *topology {
	t.Helper()
	suffix := strconv.Itoa(os.Getpid())
	tp := &topology{app: "inzcap-app-" + suffix, peer: "inzcap-peer-" + suffix}
	for _, n := range []string{tp.app, tp.peer} {
		run(t, "ip", "netns", "add", n)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", n).Run() })
	}
	in := func(n string, args ...string) { run(t, "ip", append([]string{"-n", n}, args...)...) }
	in(tp.app, "link", "add", "vapp", "type", "veth", "peer", "name", "vpeer", "netns", tp.peer)
	for _, n := range []string{tp.app, tp.peer} {
		in(n, "link", "set", "lo", "up")
	}
	in(tp.app, "addr", "add", "192.0.2.1/24", "dev", "vapp")
	in(tp.app, "addr", "add", "2001:db8::1/64", "dev", "vapp", "nodad")
	in(tp.app, "link", "set", "vapp", "up")
	in(tp.peer, "addr", "add", "192.0.2.2/24", "dev", "vpeer")
	in(tp.peer, "addr", "add", "2001:db8::2/64", "dev", "vpeer", "nodad")
	in(tp.peer, "link", "set", "vpeer", "up")
	for _, a := range []string{"198.51.100.7/32", "203.0.113.7/32", "2001:db8:1::7/128"} {
		in(tp.peer, "addr", "add", a, "dev", "lo")
	}
	in(tp.app, "route", "add", "198.51.100.0/24", "via", "192.0.2.2")
	in(tp.app, "route", "add", "203.0.113.0/24", "via", "192.0.2.2")
	in(tp.app, "-6", "route", "add", "2001:db8:1::/48", "via", "2001:db8::2")
	var err error
	if tp.appNS, err = ns.GetNS("/run/netns/" + tp.app); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.appNS.Close() })
	if tp.peerNS, err = ns.GetNS("/run/netns/" + tp.peer); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tp.peerNS.Close() })
	return tp
}

// serve listens in netns on addr and answers every connection with reply
// (for a stand-in proxy listener, reply also gets the original destination
// the connection was redirected from).
func serve(t *testing.T, netns ns.NetNS, network, addr, reply string, originalDst bool) {
	t.Helper()
	var l net.Listener
	err := netns.Do(func(ns.NetNS) error {
		var err error
		l, err = net.Listen(network, addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen %s %s: %v", network, addr, err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			msg := reply
			if originalDst {
				dst, err := originalDestination(c.(*net.TCPConn))
				if err != nil {
					msg += " error " + err.Error()
				} else {
					msg += " " + dst.String()
				}
			}
			_ = c.SetDeadline(time.Now().Add(ioTimeout))
			_, _ = io.WriteString(c, msg)
			c.Close()
		}
	}()
}

// originalDestination reads where a redirected connection was going:
// SO_ORIGINAL_DST (IPv4) or IP6T_SO_ORIGINAL_DST (IPv6), as Envoy's
// original_dst listener filter does.
func originalDestination(c *net.TCPConn) (netip.AddrPort, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return netip.AddrPort{}, err
	}
	var ap netip.AddrPort
	var serr error
	v4 := netip.MustParseAddrPort(c.LocalAddr().String()).Addr().Unmap().Is4()
	err = rc.Control(func(fd uintptr) {
		if v4 {
			// sockaddr_in in the 16 bytes of an ipv6_mreq, the usual trick.
			m, err := unix.GetsockoptIPv6Mreq(int(fd), unix.SOL_IP, unix.SO_ORIGINAL_DST)
			if err != nil {
				serr = err
				return
			}
			port := binary.BigEndian.Uint16(m.Multiaddr[2:4])
			ap = netip.AddrPortFrom(netip.AddrFrom4([4]byte(m.Multiaddr[4:8])), port)
			return
		}
		const ip6tSoOriginalDst = 80
		info, err := unix.GetsockoptIPv6MTUInfo(int(fd), unix.SOL_IPV6, ip6tSoOriginalDst)
		if err != nil {
			serr = err
			return
		}
		p := info.Addr.Port
		port := p>>8 | p<<8 // network byte order in the raw sockaddr
		ap = netip.AddrPortFrom(netip.AddrFrom16(info.Addr.Addr), port)
	})
	if err != nil {
		return ap, err
	}
	return ap, serr
}

// dial connects from netns as uid (the socket's owner, which the rules'
// owner match reads) and returns what the server answered.
func dial(t *testing.T, netns ns.NetNS, uid int, addr string) string {
	t.Helper()
	var got string
	err := netns.Do(func(ns.NetNS) error {
		// Do locks this goroutine to a thread: the fsuid change stays on it.
		if _, _, e := unix.RawSyscall(unix.SYS_SETFSUID, uintptr(uid), 0, 0); e != 0 {
			return e
		}
		defer unix.RawSyscall(unix.SYS_SETFSUID, 0, 0, 0)
		d := net.Dialer{Timeout: ioTimeout}
		c, err := d.DialContext(context.Background(), "tcp", addr)
		if err != nil {
			return err
		}
		defer c.Close()
		_ = c.SetDeadline(time.Now().Add(ioTimeout))
		b, err := io.ReadAll(io.LimitReader(c, 1024))
		got = string(b)
		return err
	})
	if err != nil {
		return "dial error: " + err.Error()
	}
	return got
}

var counters = regexp.MustCompile(`\[\d+:\d+\]`)

// saved is both families' rules in ns, without comments and counters.
func saved(t *testing.T, netnsName string) string {
	t.Helper()
	var b strings.Builder
	for _, tool := range []string{"iptables-save", "ip6tables-save"} {
		for l := range strings.Lines(run(t, "ip", "netns", "exec", netnsName, tool)) {
			if strings.HasPrefix(l, "#") {
				continue
			}
			b.WriteString(counters.ReplaceAllString(l, "[0:0]"))
		}
	}
	return b.String()
}

func TestCaptureInitInNetworkNamespaces(t *testing.T) {
	requireRootAndIptables(t)
	bin := buildInzone(t)
	tp := newTopology(t)

	// Stand-ins for Envoy's listeners and the app in the app namespace, and
	// for the rest of the world in the peer namespace.
	for _, fam := range []struct{ network, any string }{{"tcp4", "0.0.0.0"}, {"tcp6", "[::]"}} {
		serve(t, tp.appNS, fam.network, fam.any+":15001", "outbound", true)
		serve(t, tp.appNS, fam.network, fam.any+":15006", "inbound", true)
		serve(t, tp.appNS, fam.network, fam.any+":8080", "app", false)
		serve(t, tp.appNS, fam.network, fam.any+":9090", "app", false)
		serve(t, tp.appNS, fam.network, fam.any+":15021", "health", false)
		serve(t, tp.peerNS, fam.network, fam.any+":80", "peer", false)
		serve(t, tp.peerNS, fam.network, fam.any+":8081", "peer", false)
	}

	initArgs := []string{"netns", "exec", tp.app, bin, "capture", "init",
		"--proxy-uid", strconv.Itoa(proxyUID), "--outbound-port", "15001", "--inbound-port", "15006",
		"--exclude-inbound-ports", "15000,15021,9090",
		"--exclude-outbound-ports", "8081",
		"--exclude-outbound-cidrs", "203.0.113.0/24"}
	out := run(t, "ip", initArgs...)
	for _, want := range []string{"# IPv4: installed with", "# IPv6: installed with", "-A OUTPUT -p tcp -j INZONE_OUTPUT"} {
		if !strings.Contains(out, want) {
			t.Fatalf("init output lacks %q:\n%s", want, out)
		}
	}

	tests := []struct {
		name string
		from ns.NetNS
		uid  int
		addr string
		want string
	}{
		{"the app's call to a peer reaches the outbound listener, which reads the original destination", tp.appNS, appUID, "198.51.100.7:80", "outbound 198.51.100.7:80"},
		{"the app's IPv6 call reaches the outbound listener", tp.appNS, appUID, "[2001:db8:1::7]:80", "outbound [2001:db8:1::7]:80"},
		{"the proxy's own call is not redirected", tp.appNS, proxyUID, "198.51.100.7:80", "peer"},
		{"the proxy's own IPv6 call is not redirected", tp.appNS, proxyUID, "[2001:db8:1::7]:80", "peer"},
		{"an excluded outbound port bypasses the proxy", tp.appNS, appUID, "198.51.100.7:8081", "peer"},
		{"an excluded outbound CIDR bypasses the proxy", tp.appNS, appUID, "203.0.113.7:80", "peer"},
		{"loopback is not redirected", tp.appNS, appUID, "127.0.0.1:8080", "app"},
		{"IPv6 loopback is not redirected", tp.appNS, appUID, "[::1]:8080", "app"},
		{"an inbound call to the app's port reaches the inbound listener", tp.peerNS, 0, "192.0.2.1:8080", "inbound 192.0.2.1:8080"},
		{"an inbound IPv6 call reaches the inbound listener", tp.peerNS, 0, "[2001:db8::1]:8080", "inbound [2001:db8::1]:8080"},
		{"an excluded inbound port reaches the app directly", tp.peerNS, 0, "192.0.2.1:9090", "app"},
		{"the health port reaches its listener directly", tp.peerNS, 0, "[2001:db8::1]:15021", "health"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := dial(t, tt.from, tt.uid, tt.addr); got != tt.want {
				t.Errorf("connection to %s as UID %d: got %q, want %q", tt.addr, tt.uid, got, tt.want)
			}
		})
	}

	t.Run("a second run changes nothing", func(t *testing.T) {
		before := saved(t, tp.app)
		again := run(t, "ip", initArgs...)
		if after := saved(t, tp.app); after != before {
			t.Errorf("rules changed on the second run:\nbefore:\n%s\nafter:\n%s", before, after)
		}
		if strings.Contains(again, "-A OUTPUT ") || strings.Contains(again, "-A PREROUTING ") {
			t.Errorf("the second run printed jumps it must not add again:\n%s", again)
		}
		if n := strings.Count(before, "-j "+"INZONE_OUTPUT"); n != 2 {
			t.Errorf("want one OUTPUT jump per family, got %d:\n%s", n, before)
		}
	})

	t.Run("an include list limits the redirect to its CIDRs", func(t *testing.T) {
		run(t, "ip", "netns", "exec", tp.app, bin, "capture", "init",
			"--proxy-uid", strconv.Itoa(proxyUID), "--include-outbound-cidrs", "198.51.100.0/24")
		for addr, want := range map[string]string{
			"198.51.100.7:80":    "outbound 198.51.100.7:80",
			"203.0.113.7:80":     "peer",
			"[2001:db8:1::7]:80": "peer",
		} {
			if got := dial(t, tp.appNS, appUID, addr); got != want {
				t.Errorf("connection to %s: got %q, want %q", addr, got, want)
			}
		}
	})
}

func TestCaptureInitDryRunInstallsNothing(t *testing.T) {
	requireRootAndIptables(t)
	bin := buildInzone(t)
	tp := newTopology(t)
	before := saved(t, tp.app)
	out := run(t, "ip", "netns", "exec", tp.app, bin, "capture", "init", "--dry-run")
	if !strings.Contains(out, "dry run, nothing installed") || !strings.Contains(out, "-A INZONE_OUTPUT -j INZONE_REDIRECT") {
		t.Errorf("dry run output:\n%s", out)
	}
	if after := saved(t, tp.app); after != before {
		t.Errorf("dry run changed the rules:\n%s", after)
	}
}

// TestCaptureInitLegacyBackend runs init where only the legacy iptables
// tools are in PATH, then again with every variant: the rerun finds its
// chains in the legacy tables and stays there, leaving nft's empty.
func TestCaptureInitLegacyBackend(t *testing.T) {
	requireRootAndIptables(t)
	tools := t.TempDir()
	for _, tool := range []string{"iptables-legacy-restore", "iptables-legacy-save", "ip6tables-legacy-restore", "ip6tables-legacy-save"} {
		p, err := exec.LookPath(tool)
		if err != nil {
			t.Skipf("%s missing: skipped", tool)
		}
		if err := os.Symlink(p, filepath.Join(tools, tool)); err != nil {
			t.Fatal(err)
		}
	}
	bin := buildInzone(t)
	tp := newTopology(t)
	serve(t, tp.appNS, "tcp4", "0.0.0.0:15001", "outbound", true)
	serve(t, tp.peerNS, "tcp4", "0.0.0.0:80", "peer", false)

	initCmd := func(path string) string {
		t.Helper()
		cmd := exec.Command("ip", "netns", "exec", tp.app, bin, "capture", "init")
		cmd.Env = []string{"PATH=" + path}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("init with PATH=%s: %v\n%s", path, err, out)
		}
		return string(out)
	}
	if out := initCmd(tools); !strings.Contains(out, "installed with "+filepath.Join(tools, "iptables-legacy-restore")) {
		t.Fatalf("not installed with the legacy backend:\n%s", out)
	}
	if got := dial(t, tp.appNS, appUID, "198.51.100.7:80"); got != "outbound 198.51.100.7:80" {
		t.Errorf("with legacy rules: got %q", got)
	}
	legacy := run(t, "ip", "netns", "exec", tp.app, "iptables-legacy-save", "-t", "nat")
	out := initCmd(os.Getenv("PATH"))
	if !strings.Contains(out, "iptables-legacy-restore") || strings.Contains(out, "-A OUTPUT ") {
		t.Errorf("the rerun did not stay on the legacy backend, or added a jump again:\n%s", out)
	}
	if again := run(t, "ip", "netns", "exec", tp.app, "iptables-legacy-save", "-t", "nat"); counters.ReplaceAllString(stripComments(again), "") != counters.ReplaceAllString(stripComments(legacy), "") {
		t.Errorf("legacy rules changed on the rerun:\n%s\nwant\n%s", again, legacy)
	}
	if nft := run(t, "ip", "netns", "exec", tp.app, "iptables-nft-save", "-t", "nat"); strings.Contains(nft, "INZONE") {
		t.Errorf("rules also landed in nft:\n%s", nft)
	}
}

func stripComments(s string) string {
	var b strings.Builder
	for l := range strings.Lines(s) {
		if !strings.HasPrefix(l, "#") {
			b.WriteString(l)
		}
	}
	return b.String()
}
