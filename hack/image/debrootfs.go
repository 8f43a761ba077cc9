package main

import (
	"archive/tar"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os/exec"
	"path"
	"strings"
)

// maxDebContent bounds what one package may put into the image (iptables'
// closure, libc6 included, is ~20 MB unpacked).
const maxDebContent = 256 << 20

// debFiles returns the files of a .deb's data archive, as dpkg-deb
// --fsys-tarfile gives it (what dpkg -x would write), as image files.
// Documentation other than the copyright notices, manual pages and lintian
// overrides are left out: nothing in the image reads them.
func debFiles(deb string) ([]file, error) {
	ctx, cancel := context.WithTimeout(context.Background(), aptTimeout)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "dpkg-deb", "--fsys-tarfile", deb)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("dpkg-deb --fsys-tarfile %s: %v: %s", deb, err, stderr.String())
	}
	tr := tar.NewReader(bytes.NewReader(out))
	var files []file
	var total int64
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", deb, err)
		}
		name := path.Clean("/" + h.Name)
		if name == "/" || unwanted(name) {
			continue
		}
		f := file{name: name, mode: h.Mode & 0o7777, uid: h.Uid, gid: h.Gid}
		switch h.Typeflag {
		case tar.TypeDir:
			f.dir = true
		case tar.TypeSymlink:
			f.link = h.Linkname
		case tar.TypeLink:
			f.hardlink = path.Clean("/" + h.Linkname)
		case tar.TypeReg:
			total += h.Size
			if total > maxDebContent {
				return nil, fmt.Errorf("%s: more than %d bytes of files", deb, maxDebContent)
			}
			if f.data, err = io.ReadAll(tr); err != nil {
				return nil, fmt.Errorf("%s: %s: %w", deb, name, err)
			}
		default:
			return nil, fmt.Errorf("%s: %s: unexpected entry type %q", deb, name, h.Typeflag)
		}
		files = append(files, f)
	}
}

func unwanted(name string) bool {
	for _, p := range []string{"/usr/share/man/", "/usr/share/info/", "/usr/share/lintian/"} {
		if strings.HasPrefix(name+"/", p) {
			return true
		}
	}
	if rest, ok := strings.CutPrefix(name, "/usr/share/doc/"); ok {
		// Keep /usr/share/doc/<pkg>/ and its copyright file.
		pkg, sub, more := strings.Cut(rest, "/")
		return pkg != "" && more && sub != "copyright"
	}
	return false
}

// mergeFiles joins file lists, later lists adding to earlier ones: a
// directory several packages ship appears once; the same non-directory
// path from two packages is an error, as dpkg would refuse it too. A hard
// link becomes a copy of its target, so the layer's order (by name) never
// puts a link before what it links to.
func mergeFiles(lists ...[]file) ([]file, error) {
	seen := map[string]int{}
	var out []file
	for _, l := range lists {
		for _, f := range l {
			if i, ok := seen[f.name]; ok {
				if f.dir && out[i].dir {
					continue
				}
				return nil, fmt.Errorf("%s is shipped twice", f.name)
			}
			if f.hardlink != "" {
				i, ok := seen[f.hardlink]
				if !ok || out[i].dir || out[i].link != "" {
					return nil, fmt.Errorf("%s: hard link to %s, not a regular file before it", f.name, f.hardlink)
				}
				f.data, f.hardlink = out[i].data, ""
			}
			seen[f.name] = len(out)
			out = append(out, f)
		}
	}
	return out, nil
}
