package source

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/inzone-io/inzone/lint/file"
)

const hostileService = "apiVersion: v1\nkind: Service\nmetadata: {name: s}\n"

// TestCollectSpecialFiles: lint reads regular files only and reports the
// others by name; it never blocks on a pipe or reads a device, and follows
// a symlink only within the tree unless asked.
func TestCollectSpecialFiles(t *testing.T) {
	outside := t.TempDir()
	secret := filepath.Join(outside, "secret.yaml")
	if err := os.WriteFile(secret, []byte(hostileService), 0o644); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	for _, d := range []string{tree, filepath.Join(tree, "sub")} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(tree, "ok.yaml"), []byte(hostileService), 0o644))
	must(os.Symlink("/dev/zero", filepath.Join(tree, "zero.yaml")))
	must(os.Symlink(os.DevNull, filepath.Join(tree, "null.yaml")))
	must(syscall.Mkfifo(filepath.Join(tree, "fifo.yaml"), 0o644))
	must(os.Symlink(secret, filepath.Join(tree, "abs-out.yaml")))
	rel, _ := filepath.Rel(tree, secret)
	must(os.Symlink(rel, filepath.Join(tree, "rel-out.yaml")))
	must(os.Symlink(filepath.Join("..", "ok.yaml"), filepath.Join(tree, "sub", "in.yaml")))
	must(os.Symlink("loop.yaml", filepath.Join(tree, "loop.yaml")))
	// The directory named "up" leads out; a symlink through it is out too.
	must(os.Symlink(outside, filepath.Join(tree, "up")))
	must(os.Symlink(filepath.Join("up", "secret.yaml"), filepath.Join(tree, "via-dir.yaml")))
	// A character device (1, 5: what /dev/zero is) needs root to make.
	device := syscall.Mknod(filepath.Join(tree, "dev.yaml"), syscall.S_IFCHR|0o644, 1<<8|5) == nil
	sock, err := net.Listen("unix", filepath.Join(tree, "sock.yaml"))
	must(err)
	defer sock.Close()

	errText := func(errs []Error) map[string]string {
		m := map[string]string{}
		for _, e := range errs {
			m[e.File] = e.Message
		}
		return m
	}
	paths := func(files []file.File) []string {
		var out []string
		for _, f := range files {
			out = append(out, f.Path)
		}
		return out
	}

	t.Run("default", func(t *testing.T) {
		files, errs := Collect(os.DirFS(dir), []string{"tree"}, Options{})
		got := errText(errs)
		for name, want := range map[string]string{
			"tree/zero.yaml":    "a symlink out of the tree (to /dev/zero)",
			"tree/null.yaml":    "a symlink out of the tree (to /dev/null)",
			"tree/fifo.yaml":    "not a regular file (a named pipe)",
			"tree/sock.yaml":    "not a regular file (a socket)",
			"tree/abs-out.yaml": "a symlink out of the tree (to " + secret + ")",
			"tree/rel-out.yaml": "a symlink out of the tree",
			"tree/via-dir.yaml": "a symlink out of the tree",
			"tree/loop.yaml":    "more than 40 symlinks",
		} {
			if !strings.Contains(got[name], want) {
				t.Errorf("%s: error %q, want %q", name, got[name], want)
			}
		}
		if d := got["tree/dev.yaml"]; device && !strings.Contains(d, "not a regular file (a character device)") {
			t.Errorf("tree/dev.yaml: error %q", d)
		}
		if p := paths(files); strings.Join(p, " ") != "tree/ok.yaml tree/sub/in.yaml" {
			t.Errorf("read %v, want tree/ok.yaml and tree/sub/in.yaml (a symlink within the tree)", p)
		}
		for _, f := range files {
			if data, err := f.Load(); err != nil || string(data) != hostileService {
				t.Errorf("%s: %q, %v", f.Path, data, err)
			}
		}
	})

	t.Run("--follow-symlinks", func(t *testing.T) {
		files, errs := Collect(os.DirFS(dir), []string{"tree"}, Options{FollowSymlinks: true})
		got := errText(errs)
		for _, name := range []string{"tree/abs-out.yaml", "tree/rel-out.yaml", "tree/via-dir.yaml"} {
			if _, bad := got[name]; bad {
				t.Errorf("%s refused with --follow-symlinks: %s", name, got[name])
			}
		}
		if !strings.Contains(got["tree/zero.yaml"], "not a regular file (a character device)") {
			t.Errorf("a symlink to /dev/zero followed: %q", got["tree/zero.yaml"])
		}
		if len(files) != 5 {
			t.Errorf("read %v", paths(files))
		}
	})

	t.Run("named on the command line", func(t *testing.T) {
		files, errs := Collect(os.DirFS(dir), []string{"tree/zero.yaml", "tree/fifo.yaml", "tree/abs-out.yaml"}, Options{})
		if len(files) != 0 || len(errs) != 3 {
			t.Errorf("files %v, errors %+v", paths(files), errs)
		}
	})

	t.Run("a file replaced by a pipe after the walk", func(t *testing.T) {
		d := t.TempDir()
		p := filepath.Join(d, "x.yaml")
		must(os.WriteFile(p, []byte(hostileService), 0o644))
		files, errs := Collect(os.DirFS(d), []string{"."}, Options{})
		if len(files) != 1 || len(errs) != 0 {
			t.Fatalf("files %v, errors %+v", paths(files), errs)
		}
		must(os.Remove(p))
		must(syscall.Mkfifo(p, 0o644))
		if _, err := files[0].Load(); err == nil || !strings.Contains(err.Error(), "a named pipe") {
			t.Errorf("read of a pipe: %v", err)
		}
	})
}

// TestCollectSizeCap: a file over MaxFileSize is reported, not read, and a
// file that grows past the cap after the walk is refused when read.
func TestCollectSizeCap(t *testing.T) {
	d := t.TempDir()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(os.WriteFile(filepath.Join(d, "small.yaml"), []byte(hostileService), 0o644))
	must(os.WriteFile(filepath.Join(d, "big.yaml"), []byte(hostileService+strings.Repeat("# padding\n", 200)), 0o644))
	files, errs := Collect(os.DirFS(d), []string{"."}, Options{MaxFileSize: 1000})
	if len(errs) != 0 {
		t.Fatalf("errors %+v", errs)
	}
	got := map[string]string{}
	for _, f := range files {
		_, err := f.Load()
		got[f.Path] = ""
		if err != nil {
			got[f.Path] = err.Error()
		}
		buf := make([]byte, 0, 4096)
		if _, err2 := f.ReadInto(buf); (err == nil) != (err2 == nil) {
			t.Errorf("%s: Load %v, ReadInto %v", f.Path, err, err2)
		}
	}
	if got["small.yaml"] != "" || !strings.Contains(got["big.yaml"], "2049 bytes, over the 1000-byte limit on one file (--max-file-size)") {
		t.Errorf("got %q", got)
	}

}
