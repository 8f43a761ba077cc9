package main

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// captureBuild is what `make image` needs to write the capture image.
type captureBuild struct {
	out, tag, sources, aptCache string
	platforms                   []v1.Platform
	// binaries maps "os/arch" to command name to the built file.
	binaries map[string]map[string]string
	created  time.Time
	labels   map[string]string
}

func defaultAptCache() string {
	dir, err := os.UserCacheDir()
	if err != nil {
		dir = os.TempDir()
	}
	return filepath.Join(dir, "inzone", "apt")
}

// writeCaptureImage resolves and downloads the capture packages for each
// platform and writes the capture image. A platform whose packages cannot
// be had is left out with a message saying why; none at all is an error.
// It returns the summary line for the archive.
func writeCaptureImage(b captureBuild, stdout io.Writer) (string, error) {
	spec := CaptureSpec{Inzone: map[string]string{}, Packages: map[string][]Package{}, Created: b.created,
		Labels: map[string]string{}}
	for k, v := range b.labels {
		spec.Labels[k] = v
	}
	spec.Labels["org.opencontainers.image.title"] = "inzone-capture"
	for _, p := range b.platforms {
		key := platformKey(p)
		pkgs, err := capturePackages(b, p)
		if err != nil {
			fmt.Fprintf(stdout, "capture image: leaving out %s: %v\n", key, err)
			continue
		}
		fmt.Fprintf(stdout, "capture image %s: Debian %s\n", key, PackageList(pkgs))
		spec.Platforms = append(spec.Platforms, p)
		spec.Packages[key] = pkgs
		spec.Inzone[key] = b.binaries[key]["inzone"]
	}
	if len(spec.Platforms) == 0 {
		return "", fmt.Errorf("capture image: no platform's Debian packages could be had (see above); -capture-o= builds the main image alone")
	}
	idx, err := BuildCapture(spec)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(filepath.Dir(b.out), 0o755); err != nil {
		return "", err
	}
	if err := WriteOCIArchive(idx, b.tag, b.out); err != nil {
		return "", err
	}
	d, _ := idx.Digest()
	return fmt.Sprintf("%s: inzone-capture:%s (index %s), %s", b.out, b.tag, d, platformList(spec.Platforms)), nil
}

func capturePackages(b captureBuild, p v1.Platform) ([]Package, error) {
	arch, err := debianArch(p.Architecture)
	if err != nil {
		return nil, err
	}
	return Apt{Dir: filepath.Join(b.aptCache, arch), Arch: arch, Sources: b.sources}.Resolve(CapturePackages...)
}
