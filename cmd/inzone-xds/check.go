package main

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/inzone-io/inzone/internal/regularfile"
)

// maxAddressBytes bounds an address flag: a DNS name (253), brackets, a
// colon and a port.
const maxAddressBytes = 262

// maxPEMBytes bounds tls.crt and tls.key: a certificate chain is a few KB.
const maxPEMBytes = 1 << 20

// checkAddress checks an address flag before anything listens: host:port,
// the port a number from 0 to 65535 (0: one the kernel picks), the host
// empty (every interface), an IP or a DNS name. off is whether "0" turns
// the server off.
func checkAddress(flagName, addr string, off bool) error {
	if off && addr == "0" {
		return nil
	}
	bad := func(why string) error { return fmt.Errorf("%s %q: %s", flagName, addr, why) }
	if len(addr) > maxAddressBytes {
		return fmt.Errorf("%s %.40q...: longer than %d bytes", flagName, addr, maxAddressBytes)
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		want := "host:port"
		if off {
			want += `, or "0" to turn it off`
		}
		why := err.Error()
		var ae *net.AddrError
		if errors.As(err, &ae) {
			why = ae.Err // the address is in the message already
		}
		return bad(fmt.Sprintf("not %s (%s)", want, why))
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n > 65535 {
		return bad(fmt.Sprintf("port %q is not a number from 0 to 65535", port))
	}
	if host == "" {
		return nil
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return nil
	}
	if msgs := validation.IsDNS1123Subdomain(strings.ToLower(host)); len(msgs) > 0 {
		return bad(fmt.Sprintf("host %q is neither an IP nor a DNS name", host))
	}
	return nil
}

// checkCertDir checks --cert-dir before anything is served: a directory
// whose tls.crt and tls.key are regular files (symlinks followed, as a
// mounted Secret has them), at most maxPEMBytes each, and a key pair TLS
// accepts. certwatcher reads them again to serve, and on every change.
func checkCertDir(dir string) error {
	st, err := os.Stat(dir)
	if err != nil {
		return fmt.Errorf("--cert-dir %s: %w", dir, err)
	}
	if !st.IsDir() {
		kind := "a file"
		if !st.Mode().IsRegular() {
			kind = regularfile.Kind(st.Mode())
		}
		return fmt.Errorf("--cert-dir %s: %s, not a directory", dir, kind)
	}
	var pem [2][]byte
	for i, name := range []string{"tls.crt", "tls.key"} {
		if pem[i], err = regularfile.Read(filepath.Join(dir, name), maxPEMBytes); err != nil {
			return fmt.Errorf("--cert-dir %s: %s: %w", dir, name, err)
		}
	}
	if _, err := tls.X509KeyPair(pem[0], pem[1]); err != nil {
		return fmt.Errorf("--cert-dir %s: tls.crt and tls.key: %w", dir, err)
	}
	return nil
}
