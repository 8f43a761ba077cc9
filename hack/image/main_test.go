package main

import (
	"archive/tar"
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/layout"
)

// fakeSpec stands in small files for the binaries: what the image builder
// does with them does not depend on their content.
func fakeSpec(t *testing.T, plats ...v1.Platform) Spec {
	t.Helper()
	s := Spec{Platforms: plats, Binaries: map[string]map[string]string{}, CACertificates: []byte("-----BEGIN CERTIFICATE-----\n"),
		Created: time.Unix(1700000000, 0).UTC(), Labels: map[string]string{"org.opencontainers.image.title": "inzone"}}
	for _, p := range plats {
		s.Binaries[platformKey(p)] = map[string]string{}
		for _, b := range Binaries {
			f := filepath.Join(t.TempDir(), b)
			if err := os.WriteFile(f, []byte("#!binary "+b+" "+p.Architecture), 0o644); err != nil {
				t.Fatal(err)
			}
			s.Binaries[platformKey(p)][b] = f
		}
	}
	return s
}

var amd64, arm64 = v1.Platform{OS: "linux", Architecture: "amd64"}, v1.Platform{OS: "linux", Architecture: "arm64"}

func TestImageRunsAsNonRootWithTheBinariesAndNoShell(t *testing.T) {
	idx, err := Build(fakeSpec(t, amd64, arm64))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "image.tar")
	if err := WriteOCIArchive(idx, "0.1.0", out); err != nil {
		t.Fatal(err)
	}
	// Read the archive back as a consumer would: untar, open the layout.
	dir := t.TempDir()
	untar(t, out, dir)
	lp, err := layout.FromPath(dir)
	if err != nil {
		t.Fatal(err)
	}
	top, err := lp.ImageIndex()
	if err != nil {
		t.Fatal(err)
	}
	topManifest, _ := top.IndexManifest()
	if len(topManifest.Manifests) != 1 || topManifest.Manifests[0].Annotations["org.opencontainers.image.ref.name"] != "0.1.0" {
		t.Fatalf("index.json = %+v, want one entry named 0.1.0", topManifest.Manifests)
	}
	inner, err := top.ImageIndex(topManifest.Manifests[0].Digest)
	if err != nil {
		t.Fatal(err)
	}
	im, _ := inner.IndexManifest()
	if len(im.Manifests) != 2 {
		t.Fatalf("want one image per platform, got %d", len(im.Manifests))
	}
	for _, d := range im.Manifests {
		img, err := inner.Image(d.Digest)
		if err != nil {
			t.Fatal(err)
		}
		cf, _ := img.ConfigFile()
		if cf.Architecture != d.Platform.Architecture || cf.OS != "linux" {
			t.Errorf("config says %s/%s under a %s descriptor", cf.OS, cf.Architecture, d.Platform.Architecture)
		}
		if cf.Config.User != "65532:65532" {
			t.Errorf("user = %q, want 65532:65532", cf.Config.User)
		}
		if len(cf.Config.Entrypoint) != 1 || cf.Config.Entrypoint[0] != "/usr/local/bin/inzone" {
			t.Errorf("entrypoint = %v", cf.Config.Entrypoint)
		}
		files := layerFiles(t, img)
		for _, b := range Binaries {
			h, ok := files["usr/local/bin/"+b]
			if !ok {
				t.Errorf("%s missing", b)
				continue
			}
			if h.Mode != 0o755 || h.Uid != 0 {
				t.Errorf("%s: mode %o uid %d, want 755 owned by root (not writable by the user it runs as)", b, h.Mode, h.Uid)
			}
		}
		if _, ok := files["bin/sh"]; ok {
			t.Error("the image has a shell")
		}
		if h := files["tmp/"]; h == nil || h.Mode != 0o1777 {
			t.Error("no sticky, world-writable /tmp")
		}
		if _, ok := files["etc/passwd"]; !ok {
			t.Error("no /etc/passwd naming the nonroot user")
		}
	}
}

func TestImageIsReproducible(t *testing.T) {
	s := fakeSpec(t, amd64)
	a, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	b, err := Build(s)
	if err != nil {
		t.Fatal(err)
	}
	da, _ := a.Digest()
	db, _ := b.Digest()
	if da != db {
		t.Errorf("two builds of the same inputs differ: %s vs %s", da, db)
	}
	s.Created = s.Created.Add(time.Second)
	c, _ := Build(s)
	if dc, _ := c.Digest(); dc == da {
		t.Error("the digest does not depend on the inputs")
	}
}

func TestBadFlagsAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-platforms", "windows/amd64"}, {"-platforms", "amd64"}, {"-ca-certificates", "/no/such/file"}} {
		var stderr bytes.Buffer
		if code := run(args, io.Discard, &stderr); code != 2 {
			t.Errorf("%v: exit %d, want 2 (%s)", args, code, stderr.String())
		}
	}
}

func untar(t *testing.T, file, dir string) {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, h.Name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func layerFiles(t *testing.T, img v1.Image) map[string]*tar.Header {
	t.Helper()
	layers, err := img.Layers()
	if err != nil || len(layers) != 1 {
		t.Fatalf("want one layer: %v, %v", len(layers), err)
	}
	rc, err := layers[0].Uncompressed()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	files := map[string]*tar.Header{}
	tr := tar.NewReader(rc)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		files[strings.TrimPrefix(h.Name, "/")] = h
	}
}
