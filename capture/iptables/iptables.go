// Package iptables installs a capture ruleset in the current network
// namespace with iptables-restore. It is the I/O half of package capture,
// shared by `inzone capture init` and the inzone-cni plugin.
package iptables

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/inzone-io/inzone/capture"
)

// Backend is one variant of the iptables tools for one family.
type Backend struct {
	Family  capture.Family
	Restore string // e.g. iptables-nft-restore
	Save    string // e.g. iptables-nft-save
}

// variants are the tool name prefixes tried in order: the distribution's
// default alternative first, then the nft and the legacy builds by name.
var variants = []string{"", "-nft", "-legacy"}

func toolNames(f capture.Family, variant string) (restore, save string) {
	base := "iptables"
	if f == capture.IPv6 {
		base = "ip6tables"
	}
	return base + variant + "-restore", base + variant + "-save"
}

// Detect picks the iptables variant to use for f. A variant whose nat table
// already holds inzone's chains wins, so a rerun lands where the first run
// did, whichever backend that was. Otherwise the default alternative
// (`iptables-restore`), then iptables-nft-restore, then
// iptables-legacy-restore: rules in a pod's own network namespace work with
// either backend.
func Detect(ctx context.Context, f capture.Family) (Backend, error) {
	var found []Backend
	var foundVariants []string
	for _, v := range variants {
		restore, save := toolNames(f, v)
		rp, err1 := exec.LookPath(restore)
		sp, err2 := exec.LookPath(save)
		if err1 == nil && err2 == nil {
			found = append(found, Backend{Family: f, Restore: rp, Save: sp})
			foundVariants = append(foundVariants, v)
		}
	}
	if len(found) == 0 {
		r, _ := toolNames(f, "")
		return Backend{}, fmt.Errorf("%s: no %s, %s or %s in PATH (install the iptables package)", f, r,
			strings.Replace(r, "-restore", "-nft-restore", 1), strings.Replace(r, "-restore", "-legacy-restore", 1))
	}
	for i, b := range found {
		if foundVariants[i] == "-legacy" && !legacyTablesPresent(f) {
			// Saving would load the legacy tables into the namespace (and
			// make every nft user warn about them) just to find nothing.
			continue
		}
		saved, err := b.saveNat(ctx)
		if err == nil && strings.Contains(saved, ":"+capture.ChainOutbound+" ") {
			return b, nil
		}
	}
	return found[0], nil
}

func (b Backend) saveNat(ctx context.Context) (string, error) {
	var out, errb bytes.Buffer
	cmd := exec.CommandContext(ctx, b.Save, "-t", "nat")
	cmd.Stdout, cmd.Stderr = &out, &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s -t nat: %v: %s", b.Save, err, strings.TrimSpace(errb.String()))
	}
	return out.String(), nil
}

// Install applies s's ruleset for b's family with `iptables-restore
// --noflush`, leaving other rules alone, and returns exactly the input it
// gave iptables-restore. inzone's chains are declared (so flushed and
// re-filled) every time; the jumps to them are left out when already there,
// so a second run changes nothing.
func Install(ctx context.Context, b Backend, s *capture.Settings) (string, error) {
	if err := s.Validate(); err != nil {
		return "", err
	}
	saved, err := b.saveNat(ctx)
	if err != nil {
		return "", err
	}
	rules := capture.WithoutInstalledJumps(s.Ruleset(b.Family), saved)
	var errb bytes.Buffer
	cmd := exec.CommandContext(ctx, b.Restore, "--noflush")
	cmd.Stdin = strings.NewReader(rules)
	cmd.Stderr = &errb
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("%s --noflush: %v: %s", b.Restore, err, strings.TrimSpace(errb.String()))
	}
	return rules, nil
}

// legacyTablesPresent reports whether the calling thread's network
// namespace has any legacy (x_tables) table, without loading one.
func legacyTablesPresent(f capture.Family) bool {
	name := "/proc/thread-self/net/ip_tables_names"
	if f == capture.IPv6 {
		name = "/proc/thread-self/net/ip6_tables_names"
	}
	b, err := os.ReadFile(name)
	return err == nil && len(bytes.TrimSpace(b)) > 0
}

// IPv6Enabled reports whether the calling thread's network namespace has
// IPv6: /proc/thread-self, not /proc/self, because the CNI plugin switches
// only its locked thread into the pod's namespace.
func IPv6Enabled() bool {
	v, err := os.ReadFile("/proc/thread-self/net/snmp6")
	if err != nil || len(v) == 0 {
		return false
	}
	d, err := os.ReadFile("/proc/sys/net/ipv6/conf/all/disable_ipv6")
	if err != nil {
		return !errors.Is(err, os.ErrNotExist)
	}
	return strings.TrimSpace(string(d)) == "0"
}
