package main

import (
	"fmt"
	"os"
	"path"
	"sort"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// CapturePackages are the Debian packages the capture image is made of,
// before their dependency closure: iptables brings the nft and the legacy
// builds (xtables-nft-multi, xtables-legacy-multi), the xtables extensions
// the legacy build loads at run time, and the libraries both link.
var CapturePackages = []string{"iptables"}

// PackagesLabel is the image label listing the Debian packages in the
// capture image, pinned: "name=version ...".
const PackagesLabel = "io.inzone.debian-packages"

// CaptureSpec is what goes into the capture image, the iptables mode's
// init container: Debian's iptables beside the static inzone binary.
type CaptureSpec struct {
	Platforms []v1.Platform
	// Inzone maps "os/arch" to the inzone binary.
	Inzone map[string]string
	// Packages maps "os/arch" to the resolved, downloaded packages.
	Packages map[string][]Package
	Created  time.Time
	Labels   map[string]string
}

// BuildCapture returns an image index with one capture image per platform.
func BuildCapture(s CaptureSpec) (v1.ImageIndex, error) {
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range s.Platforms {
		img, err := buildCaptureImage(s, p)
		if err != nil {
			return nil, fmt.Errorf("capture image %s: %w", platformKey(p), err)
		}
		p := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return idx, nil
}

// alternatives are the links iptables' postinst makes with
// update-alternatives (dpkg-deb -x runs no maintainer script): the nft
// build is Debian's default, the legacy one stays reachable by name.
var alternatives = map[string]string{
	"/usr/sbin/iptables":          "iptables-nft",
	"/usr/sbin/iptables-restore":  "iptables-nft-restore",
	"/usr/sbin/iptables-save":     "iptables-nft-save",
	"/usr/sbin/ip6tables":         "ip6tables-nft",
	"/usr/sbin/ip6tables-restore": "ip6tables-nft-restore",
	"/usr/sbin/ip6tables-save":    "ip6tables-nft-save",
}

func buildCaptureImage(s CaptureSpec, p v1.Platform) (v1.Image, error) {
	key := platformKey(p)
	pkgs := s.Packages[key]
	if len(pkgs) == 0 {
		return nil, fmt.Errorf("no Debian packages")
	}
	var lists [][]file
	for _, pkg := range pkgs {
		fs, err := debFiles(pkg.File)
		if err != nil {
			return nil, err
		}
		lists = append(lists, fs)
	}
	src, ok := s.Inzone[key]
	if !ok {
		return nil, fmt.Errorf("no inzone binary")
	}
	bin, err := os.ReadFile(src)
	if err != nil {
		return nil, err
	}
	extra := []file{
		{name: "/tmp", mode: 0o1777, dir: true},
		// iptables-legacy's lock, /run/xtables.lock.
		{name: "/run", mode: 0o755, dir: true},
		{name: path.Join(binDir, "inzone"), mode: 0o755, data: bin},
	}
	names := make([]string, 0, len(alternatives))
	for n := range alternatives {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		extra = append(extra, file{name: n, mode: 0o777, link: alternatives[n]})
	}
	files, err := mergeFiles(append(lists, extra)...)
	if err != nil {
		return nil, err
	}
	for _, n := range names {
		if !hasFile(files, path.Join(path.Dir(n), alternatives[n])) {
			return nil, fmt.Errorf("%s links to %s, which the packages do not ship", n, alternatives[n])
		}
	}
	files = withParents(files)
	img, cf, err := singleLayerImage(files, s.Created, p, "hack/image: Debian's "+PackageList(pkgs)+" and inzone")
	if err != nil {
		return nil, err
	}
	// Root: installing rules needs NET_ADMIN, which the init container's
	// security context grants (and drops everything else).
	cf.Config.User = "0:0"
	cf.Config.WorkingDir = "/"
	cf.Config.Entrypoint = []string{path.Join(binDir, "inzone")}
	cf.Config.Env = []string{"PATH=" + binDir + ":/usr/sbin:/usr/bin:/sbin:/bin"}
	cf.Config.Labels = map[string]string{PackagesLabel: PackageList(pkgs)}
	for k, v := range s.Labels {
		cf.Config.Labels[k] = v
	}
	return mutate.ConfigFile(img, cf)
}

func hasFile(files []file, name string) bool {
	for _, f := range files {
		if f.name == name && !f.dir {
			return true
		}
	}
	return false
}

// withParents adds the directories files need and nothing ships (root's,
// 0755), so every entry of the layer has its parent before it.
func withParents(files []file) []file {
	have := map[string]bool{}
	for _, f := range files {
		have[f.name] = true
	}
	for _, f := range files {
		for d := path.Dir(f.name); d != "/" && !have[d]; d = path.Dir(d) {
			have[d] = true
			files = append(files, file{name: d, mode: 0o755, dir: true})
		}
	}
	return files
}
