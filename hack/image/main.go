// Command image builds inzone's container image without a container
// engine: the binaries, statically linked, on an empty base with only
// what distroless/static adds (passwd and group with a nonroot user, CA
// certificates, /tmp), running as UID 65532. It writes an OCI image layout
// as a tarball, one image per platform under an image index, ready for
// `skopeo copy oci-archive:dist/inzone-image.tar docker://REGISTRY/inzone:TAG`.
//
// It uses github.com/google/go-containerregistry, the library ko is built
// on: ko builds one binary per image from a base it pulls from a registry,
// and this image holds several binaries and has no registry to pull from.
// The build is reproducible: fixed file order, owners and timestamps
// (SOURCE_DATE_EPOCH, else the last commit's time).
//
// With -capture-o it also writes the capture init container's image:
// Debian's iptables and its dependencies, fetched with the host's apt-get
// and unpacked with dpkg-deb, beside the static inzone binary, as root
// (capture.go, debian.go, debrootfs.go).
//
// usage: go run ./hack/image [-o dist/inzone-image.tar] [-capture-o dist/inzone-capture-image.tar] [-platforms linux/amd64,linux/arm64] [-tag 0.1.0]
package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/tarball"
	"github.com/google/go-containerregistry/pkg/v1/types"
)

// The image's non-root user, as in distroless.
const (
	nonrootUID = 65532
	binDir     = "/usr/local/bin"
)

// Binaries are the commands the image holds; the chart runs inzone-webhook,
// inzone-xds and, with capture.cni.enabled, `inzone-cni install` (which
// copies inzone-cni to the nodes; iptables is the node's there).
var Binaries = []string{"inzone", "inzone-cni", "inzone-webhook", "inzone-xds", "kubectl-inzone"}

func main() { os.Exit(run(os.Args[1:], os.Stdout, os.Stderr)) }

func run(args []string, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("image", flag.ContinueOnError)
	fl.SetOutput(stderr)
	out := fl.String("o", "dist/inzone-image.tar", "the OCI image layout tarball to write")
	platforms := fl.String("platforms", "linux/amd64,linux/arm64", "comma-separated os/arch list")
	tag := fl.String("tag", "dev", "the image's ref name in the layout (org.opencontainers.image.ref.name)")
	caFile := fl.String("ca-certificates", "/etc/ssl/certs/ca-certificates.crt", "CA bundle to include; empty: none")
	captureOut := fl.String("capture-o", "dist/inzone-capture-image.tar", "the capture image's OCI image layout tarball to write; empty: do not build it")
	sources := fl.String("debian-sources", "/etc/apt/sources.list.d/debian.sources", "deb822 sources file of Debian's archive, for the capture image's packages")
	aptCache := fl.String("apt-cache", defaultAptCache(), "where apt's package lists and .deb files are kept between builds")
	if err := fl.Parse(args); err != nil {
		return 2
	}
	plats, err := parsePlatforms(*platforms)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 2
	}
	var ca []byte
	if *caFile != "" {
		if ca, err = os.ReadFile(*caFile); err != nil {
			fmt.Fprintln(stderr, "CA certificates:", err)
			return 2
		}
	}
	created, err := sourceDate()
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	work, err := os.MkdirTemp("", "inzone-image-")
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	defer os.RemoveAll(work)

	spec := Spec{Platforms: plats, Binaries: map[string]map[string]string{}, CACertificates: ca, Created: created,
		Labels: map[string]string{
			"org.opencontainers.image.title":   "inzone",
			"org.opencontainers.image.source":  "https://github.com/inzone-io/inzone",
			"org.opencontainers.image.version": *tag,
		}}
	if rev, err := gitOutput("rev-parse", "HEAD"); err == nil {
		spec.Labels["org.opencontainers.image.revision"] = rev
	}
	for _, p := range plats {
		dir := filepath.Join(work, p.OS+"-"+p.Architecture)
		fmt.Fprintf(stdout, "building %s for %s/%s\n", strings.Join(Binaries, ", "), p.OS, p.Architecture)
		if err := goBuild(dir, p); err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		spec.Binaries[platformKey(p)] = map[string]string{}
		for _, b := range Binaries {
			spec.Binaries[platformKey(p)][b] = filepath.Join(dir, b)
		}
	}
	idx, err := Build(spec)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	if err := WriteOCIArchive(idx, *tag, *out); err != nil {
		fmt.Fprintln(stderr, err)
		return 1
	}
	d, _ := idx.Digest()
	summary := []string{fmt.Sprintf("%s: inzone:%s (index %s), %s", *out, *tag, d, platformList(plats))}
	if *captureOut != "" {
		line, err := writeCaptureImage(captureBuild{out: *captureOut, tag: *tag, sources: *sources, aptCache: *aptCache,
			platforms: plats, binaries: spec.Binaries, created: created, labels: spec.Labels}, stdout)
		if err != nil {
			fmt.Fprintln(stderr, err)
			return 1
		}
		summary = append(summary, line)
	}
	fmt.Fprintln(stdout, "wrote:")
	for _, l := range summary {
		fmt.Fprintln(stdout, "  "+l)
	}
	return 0
}

// Spec is what goes into the image.
type Spec struct {
	Platforms []v1.Platform
	// Binaries maps "os/arch" to command name to the file to copy.
	Binaries       map[string]map[string]string
	CACertificates []byte
	Created        time.Time
	Labels         map[string]string
}

// Build returns an image index with one image per platform.
func Build(s Spec) (v1.ImageIndex, error) {
	var idx v1.ImageIndex = mutate.IndexMediaType(empty.Index, types.OCIImageIndex)
	for _, p := range s.Platforms {
		img, err := buildImage(s, p)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", platformKey(p), err)
		}
		p := p
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{Add: img, Descriptor: v1.Descriptor{Platform: &p}})
	}
	return idx, nil
}

func buildImage(s Spec, p v1.Platform) (v1.Image, error) {
	files := baseFiles(s.CACertificates)
	bins := s.Binaries[platformKey(p)]
	for _, name := range Binaries {
		src, ok := bins[name]
		if !ok {
			return nil, fmt.Errorf("no %s binary", name)
		}
		data, err := os.ReadFile(src)
		if err != nil {
			return nil, err
		}
		files = append(files, file{name: path.Join(binDir, name), mode: 0o755, data: data})
	}
	img, cf, err := singleLayerImage(files, s.Created, p, "hack/image: inzone binaries on a distroless-like base")
	if err != nil {
		return nil, err
	}
	cf.Config.User = fmt.Sprintf("%d:%d", nonrootUID, nonrootUID)
	cf.Config.WorkingDir = "/home/nonroot"
	cf.Config.Entrypoint = []string{path.Join(binDir, "inzone")}
	cf.Config.Env = []string{"PATH=" + binDir, "SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"}
	cf.Config.Labels = s.Labels
	return mutate.ConfigFile(img, cf)
}

// singleLayerImage returns an OCI image of one layer holding files for
// platform p, and a copy of its config for the caller to fill in and set.
func singleLayerImage(files []file, created time.Time, p v1.Platform, createdBy string) (v1.Image, *v1.ConfigFile, error) {
	layerTar, err := tarFiles(files, created)
	if err != nil {
		return nil, nil, err
	}
	layer, err := tarball.LayerFromOpener(func() (io.ReadCloser, error) {
		return io.NopCloser(bytes.NewReader(layerTar)), nil
	}, tarball.WithMediaType(types.OCILayer))
	if err != nil {
		return nil, nil, err
	}
	img := mutate.ConfigMediaType(mutate.MediaType(empty.Image, types.OCIManifestSchema1), types.OCIConfigJSON)
	img, err = mutate.Append(img, mutate.Addendum{Layer: layer, History: v1.History{
		Created: v1.Time{Time: created}, CreatedBy: createdBy, Comment: "inzone",
	}})
	if err != nil {
		return nil, nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, nil, err
	}
	cf = cf.DeepCopy()
	cf.OS, cf.Architecture, cf.Variant = p.OS, p.Architecture, p.Variant
	cf.Created = v1.Time{Time: created}
	return img, cf, nil
}

// file is one entry of the layer: a directory (dir), a symbolic link
// (link), or a regular file (data). hardlink is only read from packages
// and resolved into data before a layer is written.
type file struct {
	name     string
	mode     int64
	uid, gid int
	dir      bool
	link     string
	hardlink string
	data     []byte
}

// baseFiles is what distroless/static adds to an empty image.
func baseFiles(ca []byte) []file {
	files := []file{
		{name: "/etc", mode: 0o755, dir: true},
		{name: "/etc/passwd", mode: 0o644, data: []byte("root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n")},
		{name: "/etc/group", mode: 0o644, data: []byte("root:x:0:\nnonroot:x:65532:\n")},
		{name: "/home", mode: 0o755, dir: true},
		{name: "/home/nonroot", mode: 0o700, dir: true, uid: nonrootUID, gid: nonrootUID},
		{name: "/root", mode: 0o700, dir: true},
		{name: "/tmp", mode: 0o1777, dir: true},
		{name: "/usr", mode: 0o755, dir: true},
		{name: "/usr/local", mode: 0o755, dir: true},
		{name: binDir, mode: 0o755, dir: true},
	}
	if len(ca) > 0 {
		files = append(files,
			file{name: "/etc/ssl", mode: 0o755, dir: true},
			file{name: "/etc/ssl/certs", mode: 0o755, dir: true},
			file{name: "/etc/ssl/certs/ca-certificates.crt", mode: 0o644, data: ca})
	}
	return files
}

// tarFiles writes the files in name order with fixed times, so the same
// inputs give the same layer digest.
func tarFiles(files []file, mtime time.Time) ([]byte, error) {
	sort.Slice(files, func(i, j int) bool { return files[i].name < files[j].name })
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, f := range files {
		h := &tar.Header{Name: strings.TrimPrefix(f.name, "/"), Mode: f.mode, Uid: f.uid, Gid: f.gid, ModTime: mtime, Format: tar.FormatPAX}
		switch {
		case f.dir:
			h.Typeflag, h.Name = tar.TypeDir, h.Name+"/"
		case f.link != "":
			h.Typeflag, h.Linkname = tar.TypeSymlink, f.link
		default:
			h.Typeflag, h.Size = tar.TypeReg, int64(len(f.data))
		}
		if err := tw.WriteHeader(h); err != nil {
			return nil, err
		}
		if h.Typeflag == tar.TypeReg {
			if _, err := tw.Write(f.data); err != nil {
				return nil, err
			}
		}
	}
	if err := tw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// WriteOCIArchive writes idx as an OCI image layout, tagged ref, into a tar
// file (the oci-archive transport of skopeo and podman).
func WriteOCIArchive(idx v1.ImageIndex, ref, out string) error {
	dir, err := os.MkdirTemp("", "inzone-oci-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	p, err := layout.Write(dir, empty.Index)
	if err != nil {
		return err
	}
	if err := p.AppendIndex(idx, layout.WithAnnotations(map[string]string{"org.opencontainers.image.ref.name": ref})); err != nil {
		return err
	}
	return tarDir(dir, out)
}

// tarDir tars a directory's regular files in name order with zero times.
func tarDir(dir, out string) error {
	var names []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			names = append(names, p)
		}
		return nil
	})
	if err != nil {
		return err
	}
	sort.Strings(names)
	tmp := out + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	tw := tar.NewWriter(f)
	for _, p := range names {
		rel, _ := filepath.Rel(dir, p)
		data, err := os.ReadFile(p)
		if err != nil {
			f.Close()
			return err
		}
		if err := tw.WriteHeader(&tar.Header{Name: filepath.ToSlash(rel), Mode: 0o644, Size: int64(len(data)), ModTime: time.Unix(0, 0), Typeflag: tar.TypeReg}); err != nil {
			f.Close()
			return err
		}
		if _, err := tw.Write(data); err != nil {
			f.Close()
			return err
		}
	}
	if err := errors.Join(tw.Close(), f.Close()); err != nil {
		return err
	}
	return os.Rename(tmp, out)
}

func parsePlatforms(s string) ([]v1.Platform, error) {
	var ps []v1.Platform
	for _, item := range strings.Split(s, ",") {
		goos, arch, ok := strings.Cut(strings.TrimSpace(item), "/")
		if !ok || goos != "linux" || arch == "" {
			return nil, fmt.Errorf("-platforms: %q is not linux/<arch>", item)
		}
		ps = append(ps, v1.Platform{OS: goos, Architecture: arch})
	}
	return ps, nil
}

func platformKey(p v1.Platform) string { return p.OS + "/" + p.Architecture }

func platformList(ps []v1.Platform) string {
	keys := make([]string, len(ps))
	for i, p := range ps {
		keys[i] = platformKey(p)
	}
	return strings.Join(keys, ", ")
}

// goBuild builds the binaries statically for a platform into dir.
func goBuild(dir string, p v1.Platform) error {
	args := []string{"build", "-trimpath", "-ldflags=-s -w", "-o", dir + "/"}
	for _, b := range Binaries {
		args = append(args, "./cmd/"+b)
	}
	cmd := exec.Command("go", args...)
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+p.OS, "GOARCH="+p.Architecture)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build for %s: %v\n%s", platformKey(p), err, out)
	}
	return nil
}

// sourceDate is SOURCE_DATE_EPOCH, else the last commit's time.
func sourceDate() (time.Time, error) {
	s := os.Getenv("SOURCE_DATE_EPOCH")
	if s == "" {
		var err error
		if s, err = gitOutput("log", "-1", "--format=%ct"); err != nil {
			return time.Unix(0, 0).UTC(), nil
		}
	}
	sec, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("SOURCE_DATE_EPOCH %q: %w", s, err)
	}
	return time.Unix(sec, 0).UTC(), nil
}

func gitOutput(args ...string) (string, error) {
	out, err := exec.Command("git", args...).Output()
	return strings.TrimSpace(string(out)), err
}
