package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"

	"github.com/inzone-io/inzone/capture"
)

// e2eStep bounds each command the end-to-end test runs (not the package
// download, which aptTimeout bounds).
const e2eStep = 2 * time.Minute

// EnvImageTest, when "1", runs the tests that build the capture image. They
// download Debian's packages from the machine's apt sources, so `make test`,
// whose tests talk only to loopback, leaves them out; `make test-image` runs
// them.
const EnvImageTest = "INZONE_IMAGE_TEST"

// requireCaptureBuild skips unless INZONE_IMAGE_TEST=1; then it skips (or,
// with INZONE_E2E_REQUIRED=1 as root, fails) when the capture image cannot
// be built and run here.
func requireCaptureBuild(t *testing.T) {
	t.Helper()
	if os.Getenv(EnvImageTest) != "1" {
		t.Skip("the capture image test downloads Debian's packages: set " + EnvImageTest + "=1 (make test-image) to run it")
	}
	if os.Geteuid() != 0 {
		t.Skip("the capture image test needs root (network namespaces, chroot, iptables): skipped")
	}
	var missing []string
	for _, tool := range []string{"apt-get", "dpkg-deb", "ip", "chroot", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			missing = append(missing, tool)
		}
	}
	if _, err := os.Stat("/etc/apt/sources.list.d/debian.sources"); err != nil {
		missing = append(missing, "/etc/apt/sources.list.d/debian.sources")
	}
	if len(missing) > 0 {
		msg := "the capture image test needs " + strings.Join(missing, ", ") + " (Debian: apt, dpkg, iproute2)"
		if os.Getenv("INZONE_E2E_REQUIRED") == "1" {
			t.Fatal(msg)
		}
		t.Skip(msg + ": skipped")
	}
}

// TestCaptureImageInstallsRulesWithItsOwnIptables builds the capture image
// for this machine's architecture from Debian's packages, unpacks it into a
// root filesystem and runs the image's own `inzone capture init` chrooted
// there, in a network namespace the test creates: once with the image's
// default iptables (nft) and once with only its legacy build on PATH. The
// image's own iptables-save, and the host's, must then show inzone's chains.
func TestCaptureImageInstallsRulesWithItsOwnIptables(t *testing.T) {
	requireCaptureBuild(t)
	p := v1.Platform{OS: "linux", Architecture: runtime.GOARCH}
	arch, err := debianArch(p.Architecture)
	if err != nil {
		t.Skip(err)
	}
	pkgs, err := Apt{Dir: filepath.Join(defaultAptCache(), arch), Arch: arch, Sources: "/etc/apt/sources.list.d/debian.sources"}.Resolve(CapturePackages...)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), "inzone")
	// Static, as make image builds it: the image's libc is Debian's.
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "github.com/inzone-io/inzone/cmd/inzone")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	idx, err := BuildCapture(CaptureSpec{Platforms: []v1.Platform{p}, Inzone: map[string]string{platformKey(p): bin},
		Packages: map[string][]Package{platformKey(p): pkgs}, Created: time.Unix(1700000000, 0).UTC()})
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "capture.tar")
	if err := WriteOCIArchive(idx, "test", out); err != nil {
		t.Fatal(err)
	}
	img := imageFromArchive(t, out, p)
	cf, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	if cf.Config.User != "0:0" || strings.Join(cf.Config.Entrypoint, " ") != "/usr/local/bin/inzone" || !strings.Contains(cf.Config.Labels[PackagesLabel], "iptables=") {
		t.Fatalf("config: user %q, entrypoint %q, labels %v", cf.Config.User, cf.Config.Entrypoint, cf.Config.Labels)
	}

	rootfs := t.TempDir()
	extract(t, img, rootfs)
	// What a container runtime gives every container: /proc, where inzone
	// looks for IPv6 and the legacy tables, and /dev/null (a node of its
	// own, not a bind mount of the host's /dev, which removing the temp
	// directory after a failed unmount would empty).
	procDir, devDir := filepath.Join(rootfs, "proc"), filepath.Join(rootfs, "dev")
	for _, d := range []string{procDir, devDir} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := syscall.Mknod(filepath.Join(devDir, "null"), syscall.S_IFCHR|0o666, 1<<8|3); err != nil {
		t.Fatal(err)
	}
	runBounded(t, "", nil, "mount", "-t", "proc", "proc", procDir)
	t.Cleanup(func() { _ = exec.Command("umount", "-l", procDir).Run() })
	chroot, err := exec.LookPath("chroot")
	if err != nil {
		t.Fatal(err)
	}
	// A PATH with the image's legacy build only, as the nft one is the
	// image's default.
	legacyDir := filepath.Join(rootfs, "legacy")
	if err := os.Mkdir(legacyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tool := range []string{"iptables-legacy-restore", "iptables-legacy-save", "ip6tables-legacy-restore", "ip6tables-legacy-save"} {
		if err := os.Symlink("/usr/sbin/"+tool, filepath.Join(legacyDir, tool)); err != nil {
			t.Fatal(err)
		}
	}

	for _, tc := range []struct {
		backend, path, restore, save string
	}{
		{"nft", cf.Config.Env[0], "/usr/sbin/iptables-restore", "/usr/sbin/iptables-nft-save"},
		{"legacy", "PATH=/legacy", "/legacy/iptables-legacy-restore", "/usr/sbin/iptables-legacy-save"},
	} {
		t.Run(tc.backend, func(t *testing.T) {
			netns := fmt.Sprintf("inzone-image-%d-%s", os.Getpid(), tc.backend)
			runBounded(t, "", nil, "ip", "netns", "add", netns)
			t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", netns).Run() })
			runBounded(t, "", nil, "ip", "-n", netns, "link", "set", "lo", "up")
			inImage := func(args ...string) string {
				return runBounded(t, "", []string{tc.path}, "ip", append([]string{"netns", "exec", netns, chroot, rootfs}, args...)...)
			}
			got := inImage("/usr/local/bin/inzone", "capture", "init", "--proxy-uid", "1337", "--exclude-inbound-ports", "15000,15021")
			if !strings.Contains(got, "installed with "+tc.restore) {
				t.Fatalf("init did not use the image's %s (%s):\n%s", tc.backend, tc.restore, got)
			}
			saved := inImage(tc.save, "-t", "nat")
			for _, chain := range []string{capture.ChainInbound, capture.ChainInboundRedirect, capture.ChainOutbound, capture.ChainOutboundRedirect} {
				if !strings.Contains(saved, ":"+chain+" ") {
					t.Errorf("the image's %s shows no %s:\n%s", tc.save, chain, saved)
				}
			}
			if !strings.Contains(saved, "-j "+capture.ChainOutbound) {
				t.Errorf("no jump to %s:\n%s", capture.ChainOutbound, saved)
			}
			// The host's iptables reads the same kernel tables.
			hostSave := "iptables-" + tc.backend + "-save"
			if _, err := exec.LookPath(hostSave); err == nil {
				if host := runBounded(t, "", nil, "ip", "netns", "exec", netns, hostSave, "-t", "nat"); !strings.Contains(host, ":"+capture.ChainOutbound+" ") {
					t.Errorf("the host's %s shows no %s:\n%s", hostSave, capture.ChainOutbound, host)
				}
			}
			// A rerun from the image adds nothing.
			again := inImage("/usr/local/bin/inzone", "capture", "init", "--proxy-uid", "1337", "--exclude-inbound-ports", "15000,15021")
			if strings.Contains(again, "-A OUTPUT ") {
				t.Errorf("the rerun added the jump again:\n%s", again)
			}
		})
	}
}

// runBounded runs a command with a time bound and returns its output; a
// failure fails the test with the output.
func runBounded(t *testing.T, dir string, env []string, name string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), e2eStep)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	if env != nil {
		cmd.Env = env
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return string(out)
}

// imageFromArchive opens the OCI archive as a consumer would and returns
// the image for p.
func imageFromArchive(t *testing.T, archive string, p v1.Platform) v1.Image {
	t.Helper()
	dir := t.TempDir()
	untar(t, archive, dir)
	return platformImage(t, dir, p)
}

// extract writes the image's flattened file system into dir, refusing any
// entry that would land outside it.
func extract(t *testing.T, img v1.Image, dir string) {
	t.Helper()
	rc := mutate.Extract(img)
	defer rc.Close()
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Clean(h.Name)
		if !filepath.IsLocal(name) {
			if name == "." {
				continue
			}
			t.Fatalf("layer entry %q escapes the root", h.Name)
		}
		target := filepath.Join(dir, name)
		switch h.Typeflag {
		case tar.TypeDir:
			err = os.MkdirAll(target, os.FileMode(h.Mode&0o777))
		case tar.TypeSymlink:
			err = os.Symlink(h.Linkname, target)
		case tar.TypeReg:
			var f *os.File
			if f, err = os.OpenFile(target, os.O_CREATE|os.O_EXCL|os.O_WRONLY, os.FileMode(h.Mode&0o777)); err == nil {
				_, err = io.Copy(f, tr)
				err = errors.Join(err, f.Close())
			}
		default:
			t.Fatalf("layer entry %q: unexpected type %q", h.Name, h.Typeflag)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

// platformImage opens the OCI layout in dir and returns its image for p.
func platformImage(t *testing.T, dir string, p v1.Platform) v1.Image {
	t.Helper()
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	tm, err := top.IndexManifest()
	if err != nil || len(tm.Manifests) != 1 {
		t.Fatalf("index.json: %v, %d entries", err, len(tm.Manifests))
	}
	inner, err := top.ImageIndex(tm.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, err := inner.IndexManifest()
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range im.Manifests {
		if d.Platform != nil && d.Platform.Architecture == p.Architecture {
			img, err := inner.Image(d.Digest)
			if err != nil {
				t.Fatal(err)
			}
			return img
		}
	}
	t.Fatalf("no image for %s", platformKey(p))
	return nil
}
