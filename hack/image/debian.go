package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"time"
)

// Apt resolves and downloads Debian packages for one architecture with
// the host's apt-get, in a private state directory: the host's dpkg
// database, architectures and apt configuration are neither read nor
// changed, so arm64 packages come from an amd64 host without
// `dpkg --add-architecture`. Only the Debian sources file given is used.
type Apt struct {
	// Dir holds the package lists and the downloaded .deb files; it is
	// reused across runs (a cache), one per architecture.
	Dir string
	// Arch is Debian's name of the architecture (amd64, arm64).
	Arch string
	// Sources is a deb822 sources file naming Debian's archive.
	Sources string
}

// Package is one resolved Debian package, pinned to the version apt chose.
type Package struct {
	Name, Version, Arch string
	// File is the downloaded .deb.
	File string
}

// aptTimeout bounds each apt-get run (the index download is ~14 MB).
const aptTimeout = 10 * time.Minute

// debianArch maps a Go architecture to Debian's name for it.
func debianArch(goarch string) (string, error) {
	switch goarch {
	case "amd64", "arm64", "s390x", "ppc64le", "riscv64":
		if goarch == "ppc64le" {
			return "ppc64el", nil
		}
		return goarch, nil
	case "arm":
		return "armhf", nil
	case "386":
		return "i386", nil
	}
	return "", fmt.Errorf("no Debian architecture for GOARCH %q", goarch)
}

func (a Apt) options() []string {
	return []string{
		"-q",
		"-o", "Dir::Etc::main=/dev/null", // no host apt.conf: no DEP-11, no proxies set for other tools
		"-o", "Dir::Etc::parts=" + filepath.Join(a.Dir, "apt.conf.d"),
		"-o", "Dir::Etc::sourcelist=/dev/null",
		"-o", "Dir::Etc::sourceparts=" + filepath.Join(a.Dir, "sources.list.d"),
		"-o", "Dir::Etc::preferencesparts=" + filepath.Join(a.Dir, "preferences.d"),
		"-o", "Dir::State=" + filepath.Join(a.Dir, "state"),
		"-o", "Dir::State::Lists=" + filepath.Join(a.Dir, "lists"),
		"-o", "Dir::State::status=" + filepath.Join(a.Dir, "status"), // empty: nothing counts as installed
		"-o", "Dir::Cache=" + filepath.Join(a.Dir, "cache"),
		"-o", "Dir::Cache::archives=" + filepath.Join(a.Dir, "archives"),
		"-o", "Dir::Cache::pkgcache=", "-o", "Dir::Cache::srcpkgcache=",
		"-o", "APT::Architecture=" + a.Arch, "-o", "APT::Architectures=" + a.Arch,
		"-o", "Acquire::Languages=none",
		"-o", "APT::Install-Recommends=false",
		"-o", "APT::Sandbox::User=root",
		"-o", "Debug::NoLocking=true",
	}
}

// prepare lays out the private state directory.
func (a Apt) prepare() error {
	for _, d := range []string{"apt.conf.d", "sources.list.d", "preferences.d", "state", "lists/partial", "cache", "archives/partial", "debs"} {
		if err := os.MkdirAll(filepath.Join(a.Dir, d), 0o755); err != nil {
			return err
		}
	}
	src, err := os.ReadFile(a.Sources)
	if err != nil {
		return fmt.Errorf("Debian sources: %w", err)
	}
	if err := os.WriteFile(filepath.Join(a.Dir, "sources.list.d", "debian.sources"), src, 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(a.Dir, "status"), nil, 0o644)
}

func (a Apt) aptGet(dir string, args ...string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(context.Background(), aptTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "apt-get", append(a.options(), args...)...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive", "LC_ALL=C")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("apt-get %s (%s): %v\n%s", args[0], a.Arch, err, lastLines(stderr.String(), 10))
	}
	return out, nil
}

// Resolve updates the package lists and returns pkgs and their dependency
// closure (no recommends) as apt would install them on an empty system,
// each downloaded, sorted by name.
func (a Apt) Resolve(pkgs ...string) ([]Package, error) {
	if err := a.prepare(); err != nil {
		return nil, err
	}
	if _, err := a.aptGet(a.Dir, "update"); err != nil {
		return nil, err
	}
	out, err := a.aptGet(a.Dir, append([]string{"install", "--simulate", "--no-install-recommends"}, pkgs...)...)
	if err != nil {
		return nil, err
	}
	resolved, err := parseSimulation(out)
	if err != nil {
		return nil, err
	}
	// Download exactly the versions resolved, by name=version.
	debs := filepath.Join(a.Dir, "debs")
	args := []string{"download"}
	for _, p := range resolved {
		args = append(args, p.Name+":"+p.Arch+"="+p.Version)
	}
	if _, err := a.aptGet(debs, args...); err != nil {
		return nil, err
	}
	for i, p := range resolved {
		// apt-get download names files name_version_arch.deb with the
		// version's ':' (an epoch) escaped as %3a.
		f := filepath.Join(debs, fmt.Sprintf("%s_%s_%s.deb", p.Name, strings.ReplaceAll(p.Version, ":", "%3a"), p.Arch))
		if _, err := os.Stat(f); err != nil {
			return nil, fmt.Errorf("%s: downloaded, but %w", p.Name, err)
		}
		resolved[i].File = f
	}
	return resolved, nil
}

// instLine is apt-get --simulate's line for one package to install:
// "Inst libc6 (2.36-9+deb12u14 Debian:12.15/oldstable [amd64])".
var instLine = regexp.MustCompile(`^Inst (\S+) (?:\[\S+\] )?\((\S+) .*\[(\S+)\]\)`)

func parseSimulation(out []byte) ([]Package, error) {
	var pkgs []Package
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		if m := instLine.FindStringSubmatch(sc.Text()); m != nil {
			pkgs = append(pkgs, Package{Name: m[1], Version: m[2], Arch: m[3]})
		}
	}
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("apt-get --simulate resolved no package:\n%s", lastLines(string(out), 10))
	}
	sort.Slice(pkgs, func(i, j int) bool { return pkgs[i].Name < pkgs[j].Name })
	return pkgs, nil
}

// PackageList is the pinned list written into the image's label, one
// "name=version" per package, sorted.
func PackageList(pkgs []Package) string {
	var b strings.Builder
	for i, p := range pkgs {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(p.Name + "=" + p.Version)
	}
	return b.String()
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
