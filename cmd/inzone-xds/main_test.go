package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// TestBadFlagsAndConfigExitCodes checks every refusal happens before anything
// is served, with exit code 2 and a message naming the flag or field.
func TestBadFlagsAndConfigExitCodes(t *testing.T) {
	dir := t.TempDir()
	badConfig := filepath.Join(dir, "config.yaml")
	if err := os.WriteFile(badConfig, []byte("ddsd:\n  env: prod\nxds:\n  minClusterSize: 0\n  minClusterSiz: 3\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	rangeConfig := filepath.Join(dir, "range.yaml")
	if err := os.WriteFile(rangeConfig, []byte("xds:\n  minClusterSize: -4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	garbage := filepath.Join(dir, "kubeconfig")
	if err := os.WriteFile(garbage, []byte("{{{ not yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	base := []string{"--plaintext", "--dns-address=0", "--metrics-bind-address=0", "--health-probe-bind-address=0"}
	f := newFixtures(t)
	// A kubeconfig that loads; nothing listens at its server, and nothing
	// dials it before every address is bound.
	served := append(slices.Clip(base), "--kubeconfig", f.kubeconfig(nil, nil), "--xds-address=127.0.0.1:0")
	tests := []struct {
		name string
		args []string
		code int    // the exit code
		want string // in stderr
	}{
		{"an unknown flag", []string{"--nope"}, 2, "-nope"},
		{"a stray argument", append(base, "extra"), 2, "unexpected arguments"},
		{"neither TLS nor plaintext", []string{"--dns-address=0"}, 2, "--cert-dir"},
		{"both TLS and plaintext", append(base, "--cert-dir", dir), 2, "--plaintext and --cert-dir"},
		{"ADS turned off", append(base, "--xds-address=0"), 2, "--xds-address"},
		{"no stream allowed", append(base, "--max-streams=0"), 2, "--max-streams 0"},
		{"a stream cap that is not a number", append(base, "--max-streams=lots"), 2, "-max-streams"},
		{"a DNS address that is not host:port", append(base, "--dns-address=8053"), 2, "--dns-address"},
		{"a pprof address that is not host:port", append(base, "--pprof-address=6060"), 2, "--pprof-address"},
		{"a config with a typo names the field and line", append(base, "--config", badConfig), 2, `line 5: unknown field "xds.minClusterSiz"`},
		{"a config value out of range names the field", append(base, "--config", rangeConfig), 2, "xds.minClusterSize"},
		{"a missing config file", append(base, "--config", filepath.Join(dir, "absent.yaml")), 2, "--config"},
		{"a kubeconfig that does not parse", append(base, "--kubeconfig", garbage), 2, "--kubeconfig " + garbage},
		{"a missing kubeconfig", append(base, "--kubeconfig", filepath.Join(dir, "absent")), 2, "--kubeconfig"},
		{"one kubeconfig twice, its endpoints counted twice", append(base, "--kubeconfig", garbage, "--kubeconfig", dir+"/./kubeconfig"), 2, "given twice"},
		{"more clusters than the bound", append(base, manyKubeconfigs(65)...), 2, "at most 64"},
		{"the pod's own cluster, outside a pod", append(base, "--in-cluster"), 2, "--in-cluster"},

		// Every address: host:port, a port from 0 to 65535, a host that is
		// an IP or a DNS name, a bounded length.
		{"an ADS address without a port", append(base, "--xds-address", "foo"), 2, `--xds-address "foo": not host:port (missing port in address)`},
		{"a metrics address without a port", append(base, "--metrics-bind-address", "foo"), 2, `--metrics-bind-address "foo": not host:port, or "0"`},
		{"a probe port out of range", append(base, "--health-probe-bind-address", ":99999"), 2, `--health-probe-bind-address ":99999": port "99999" is not a number from 0 to 65535`},
		{"a DNS port out of range", append(base, "--dns-address", ":99999"), 2, `--dns-address ":99999": port`},
		{"a negative pprof port", append(base, "--pprof-address", "127.0.0.1:-1"), 2, `--pprof-address "127.0.0.1:-1": port "-1"`},
		{"a named port", append(base, "--xds-address", "127.0.0.1:http"), 2, `--xds-address "127.0.0.1:http": port "http"`},
		{"shell metacharacters as the host", append(base, "--metrics-bind-address", "$(reboot);x:80"), 2, `host "$(reboot);x" is neither an IP nor a DNS name`},
		{"a newline in the host", append(base, "--xds-address", "a\nb:80"), 2, `--xds-address "a\nb:80": host`},
		{"a huge address", append(base, "--xds-address", strings.Repeat("a", 1<<20)+":1"), 2, "--xds-address \"aaaa"},
		{"a zero sync timeout", append(base, "--cluster-sync-timeout=0s"), 2, "--cluster-sync-timeout 0s"},
		{"a sync timeout over the bound", append(base, "--cluster-sync-timeout=1000h"), 2, "--cluster-sync-timeout 1000h0m0s: want more than 0, at most 1h0m0s"},

		// --cert-dir: a directory whose tls.crt and tls.key are regular,
		// bounded files holding a key pair.
		{"a missing cert dir", []string{"--dns-address=0", "--cert-dir", "/nonexistent"}, 2, "--cert-dir /nonexistent: stat /nonexistent: no such file"},
		{"a file as the cert dir", []string{"--dns-address=0", "--cert-dir", garbage}, 2, "--cert-dir " + garbage + ": a file, not a directory"},
		{"a device as the cert dir", []string{"--dns-address=0", "--cert-dir", "/dev/null"}, 2, "--cert-dir /dev/null: a character device, not a directory"},
		{"a cert dir without tls.key", []string{"--dns-address=0", "--cert-dir", f.certDir("nokey")}, 2, "tls.key: open"},
		{"tls.crt a named pipe", []string{"--dns-address=0", "--cert-dir", f.certDir("fifo")}, 2, "tls.crt: " + f.path("certs-fifo", "tls.crt") + " is not a regular file"},
		{"tls.key a link to /dev/zero", []string{"--dns-address=0", "--cert-dir", f.certDir("zero")}, 2, "tls.key: " + f.path("certs-zero", "tls.key") + " is not a regular file"},
		{"tls.crt larger than the bound", []string{"--dns-address=0", "--cert-dir", f.certDir("huge")}, 2, "tls.crt: " + f.path("certs-huge", "tls.crt") + " is larger than"},
		{"tls.crt and tls.key not a key pair", []string{"--dns-address=0", "--cert-dir", f.certDir("garbage")}, 2, "--cert-dir " + f.path("certs-garbage") + ": tls.crt and tls.key:"},

		// --kubeconfig and the files it names: regular and bounded, so
		// none is read forever.
		{"a kubeconfig that is a named pipe", append(base, "--kubeconfig", f.fifo), 2, "--kubeconfig " + f.fifo + ": " + f.fifo + " is not a regular file"},
		{"a kubeconfig that is /dev/zero", append(base, "--kubeconfig", "/dev/zero"), 2, "--kubeconfig /dev/zero: /dev/zero is not a regular file"},
		{"a kubeconfig that is a directory", append(base, "--kubeconfig", dir), 2, "--kubeconfig " + dir + ": " + dir + " is not a regular file"},
		{"a kubeconfig larger than the bound", append(base, "--kubeconfig", f.sparse("huge-kubeconfig", maxKubeconfigBytes+1)), 2, "is larger than 16777216 bytes"},
		{"a kubeconfig naming its CA as a named pipe beside it", append(base, "--kubeconfig", f.kubeconfig(&clientcmdapi.Cluster{CertificateAuthority: "fifo"}, nil)), 2, "certificate-authority: " + f.fifo + " is not a regular file"},
		{"a kubeconfig naming /dev/zero as its token file", append(base, "--kubeconfig", f.kubeconfig(nil, &clientcmdapi.AuthInfo{TokenFile: "/dev/zero"})), 2, "tokenFile: /dev/zero is not a regular file"},
		{"a kubeconfig naming a directory as its client certificate", append(base, "--kubeconfig", f.kubeconfig(nil, &clientcmdapi.AuthInfo{ClientCertificate: dir, ClientKey: garbage})), 2, "client-certificate: " + dir + " is not a regular file"},

		// An address taken at start: the flag is named; exit 1, since the
		// value is right and a restart may find the port free.
		{"the ADS port taken", append(served[:len(served):len(served)], "--xds-address", f.takenTCP()), 1, `--xds-address ` + f.takenTCP()},
		{"the metrics port taken", append(served[:len(served):len(served)], "--metrics-bind-address", f.takenTCP()), 1, `--metrics-bind-address ` + f.takenTCP()},
		{"the probe port taken", append(served[:len(served):len(served)], "--health-probe-bind-address", f.takenTCP()), 1, `--health-probe-bind-address ` + f.takenTCP()},
		{"the pprof port taken", append(served[:len(served):len(served)], "--pprof-address", f.takenTCP()), 1, `--pprof-address ` + f.takenTCP()},
		{"the DNS port taken (UDP)", append(served[:len(served):len(served)], "--dns-address", f.takenUDP()), 1, `--dns-address ` + f.takenUDP() + ": dns: listen udp"},
	}
	// Outside a pod whatever the machine: client-go reads these first.
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			if code := run(context.Background(), tt.args, &stderr); code != tt.code {
				t.Fatalf("exit %d, want %d; stderr:\n%s", code, tt.code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr does not name %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}

func manyKubeconfigs(n int) []string {
	var args []string
	for i := range n {
		args = append(args, fmt.Sprintf("--kubeconfig=/etc/inzone-clusters/c%d/kubeconfig", i))
	}
	return args
}

// TestBadEnvKubeconfigExit2: with no --kubeconfig, $KUBECONFIG's files
// and the files they name pass the same checks as --kubeconfig's.
func TestBadEnvKubeconfigExit2(t *testing.T) {
	f := newFixtures(t)
	tests := []struct {
		name, env, want string
	}{
		{"a named pipe on the list", "/nonexistent:" + f.fifo, "$KUBECONFIG " + f.fifo + ": " + f.fifo + " is not a regular file"},
		{"/dev/zero", "/dev/zero", "$KUBECONFIG /dev/zero: /dev/zero is not a regular file"},
		{"a CA that is a named pipe", f.kubeconfig(&clientcmdapi.Cluster{CertificateAuthority: "fifo"}, nil), "certificate-authority: " + f.fifo + " is not a regular file"},
	}
	t.Setenv("KUBERNETES_SERVICE_HOST", "")
	t.Setenv("KUBERNETES_SERVICE_PORT", "")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("KUBECONFIG", tt.env)
			var stderr bytes.Buffer
			args := []string{"--plaintext", "--dns-address=0", "--metrics-bind-address=0", "--health-probe-bind-address=0"}
			if code := run(context.Background(), args, &stderr); code != 2 {
				t.Fatalf("exit %d, want 2; stderr:\n%s", code, stderr.String())
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr does not name %q:\n%s", tt.want, stderr.String())
			}
		})
	}
}
