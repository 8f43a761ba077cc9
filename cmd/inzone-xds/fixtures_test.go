package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// fixtures are the files and sockets the refusal cases name: a named
// pipe, cert dirs each broken one way, kubeconfigs, ports held.
type fixtures struct {
	t    *testing.T
	dir  string
	fifo string // dir/fifo, a named pipe nobody writes
	n    int
	tcp  string
	udp  string
}

func newFixtures(t *testing.T) *fixtures {
	t.Helper()
	f := &fixtures{t: t, dir: t.TempDir()}
	f.fifo = f.path("fifo")
	if err := syscall.Mkfifo(f.fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// path joins elems under the fixtures' directory.
func (f *fixtures) path(elem ...string) string {
	return filepath.Join(append([]string{f.dir}, elem...)...)
}

// certDir writes a cert dir broken as kind says: "nokey" (no tls.key),
// "fifo" (tls.crt a named pipe), "zero" (tls.key a link to /dev/zero),
// "huge" (tls.crt past the bound), "garbage" (not PEM).
func (f *fixtures) certDir(kind string) string {
	f.t.Helper()
	d := f.path("certs-" + kind)
	if err := os.Mkdir(d, 0o700); err != nil {
		f.t.Fatal(err)
	}
	writeCert(f.t, d)
	crt, key := filepath.Join(d, "tls.crt"), filepath.Join(d, "tls.key")
	var err error
	switch kind {
	case "nokey":
		err = os.Remove(key)
	case "fifo":
		if err = os.Remove(crt); err == nil {
			err = syscall.Mkfifo(crt, 0o600)
		}
	case "zero":
		if err = os.Remove(key); err == nil {
			err = os.Symlink("/dev/zero", key)
		}
	case "huge":
		err = os.Truncate(crt, maxPEMBytes+1)
	case "garbage":
		err = os.WriteFile(crt, []byte("-----BEGIN CERTIFICATE-----\n$(reboot)\n"), 0o600)
	default:
		err = fmt.Errorf("no cert dir kind %q", kind)
	}
	if err != nil {
		f.t.Fatal(err)
	}
	return d
}

// sparse creates a file of size bytes that takes no disk.
func (f *fixtures) sparse(name string, size int64) string {
	f.t.Helper()
	p := f.path(name)
	if err := os.WriteFile(p, nil, 0o600); err != nil {
		f.t.Fatal(err)
	}
	if err := os.Truncate(p, size); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// kubeconfig writes a kubeconfig in the fixtures' directory for a server
// at a loopback port nobody listens on, with cluster's and user's file
// fields (relative ones are relative to it).
func (f *fixtures) kubeconfig(cluster *clientcmdapi.Cluster, user *clientcmdapi.AuthInfo) string {
	f.t.Helper()
	if cluster == nil {
		cluster = &clientcmdapi.Cluster{InsecureSkipTLSVerify: true}
	}
	if user == nil {
		user = &clientcmdapi.AuthInfo{Token: "t"}
	}
	cluster.Server = "https://127.0.0.1:1"
	kc := clientcmdapi.NewConfig()
	kc.Clusters["c"] = cluster
	kc.AuthInfos["u"] = user
	kc.Contexts["x"] = &clientcmdapi.Context{Cluster: "c", AuthInfo: "u"}
	kc.CurrentContext = "x"
	f.n++
	p := f.path(fmt.Sprintf("kubeconfig-%d", f.n))
	if err := clientcmd.WriteToFile(*kc, p); err != nil {
		f.t.Fatal(err)
	}
	return p
}

// takenTCP is a loopback address whose TCP port the test holds.
func (f *fixtures) takenTCP() string {
	f.t.Helper()
	if f.tcp == "" {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			f.t.Fatal(err)
		}
		f.t.Cleanup(func() { l.Close() })
		f.tcp = l.Addr().String()
	}
	return f.tcp
}

// takenUDP is a loopback address whose UDP port the test holds.
func (f *fixtures) takenUDP() string {
	f.t.Helper()
	if f.udp == "" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			f.t.Fatal(err)
		}
		f.t.Cleanup(func() { c.Close() })
		f.udp = c.LocalAddr().String()
	}
	return f.udp
}
