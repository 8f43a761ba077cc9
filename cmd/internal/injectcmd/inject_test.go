package injectcmd

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/cmd/internal/cli/clitest"
)

// injectTestdata is the inject package's testdata, shared with its golden
// tests.
var injectTestdata = filepath.Join("..", "..", "..", "inject", "testdata")

var injectConfig = filepath.Join(injectTestdata, "config", "inzone.yaml")

// injectCA signs the control plane the test sidecars are told to trust.
var injectCA = filepath.Join(injectTestdata, "config", "xds-ca.pem")

// runInject runs `inzone inject args...` as the binary does, with the test
// CA.
func runInject(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return clitest.Run(t, NewCommand, stdin, append([]string{"inject", "--control-plane-ca", injectCA}, args...)...)
}

func readTestFile(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestInjectStdout(t *testing.T) {
	code, out, errs := runInject(t, "", "-f", filepath.Join(injectTestdata, "shop.yaml"), "--config", injectConfig)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if want := readTestFile(t, filepath.Join(injectTestdata, "shop.injected.yaml")); out != want {
		t.Errorf("stdout is not testdata/shop.injected.yaml:\n%s", out)
	}
	if want := "inject: Deployment shop/web: applied ddsd-rewrite, zone-env, spread, sidecar, capture\n"; errs != want {
		t.Errorf("stderr:\n%s\nwant:\n%s", errs, want)
	}
}

func TestInjectStdin(t *testing.T) {
	in := readTestFile(t, filepath.Join(injectTestdata, "pod.yaml"))
	code, out, errs := runInject(t, in, "-f", "-", "--config", injectConfig)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if want := readTestFile(t, filepath.Join(injectTestdata, "pod.injected.yaml")); out != want {
		t.Errorf("stdout:\n%s", out)
	}
}

// TestInjectReports: skips and warnings, one line per object.
func TestInjectReports(t *testing.T) {
	code, _, errs := runInject(t, "", "--config", injectConfig,
		"-f", filepath.Join(injectTestdata, "daemonset.yaml"),
		"-f", filepath.Join(injectTestdata, "cronjob.yaml"),
		"-f", filepath.Join(injectTestdata, "opted-out.yaml"),
		"-f", filepath.Join(injectTestdata, "already-injected.yaml"))
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	for _, want := range []string{
		"inject: DaemonSet infra/node-agent: applied zone-env, sidecar, capture; skipped spread (daemonset)\n",
		"inject: CronJob shop/report: applied zone-env; skipped spread (no-identifying-labels), sidecar (no-service-identity)\n",
		"warning: CronJob shop/report: sidecar not injected: ",
		"inject: Deployment shop/legacy: skipped: pod opted out with inzone.io/inject=false\n",
		"inject: Deployment shop/web: unchanged (nothing to apply)\n",
	} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}
}

// TestInjectDirectory: a directory is walked recursively for manifests,
// sorted, and the files' documents are joined with ---.
func TestInjectDirectory(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join(injectTestdata, "pod.yaml"), filepath.Join(dir, "b", "pod.yaml"))
	copyFile(t, filepath.Join(injectTestdata, "job.yaml"), filepath.Join(dir, "a.yml"))
	copyFile(t, filepath.Join(injectTestdata, "web.json"), filepath.Join(dir, "c.json"))
	copyFile(t, filepath.Join(injectTestdata, "job.yaml"), filepath.Join(dir, "README.md"))
	copyFile(t, filepath.Join(injectTestdata, "job.yaml"), filepath.Join(dir, ".git", "x.yaml"))
	code, out, errs := runInject(t, "", "-f", dir, "--config", injectConfig)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	want := readTestFile(t, filepath.Join(injectTestdata, "job.injected.yaml")) + "---\n" +
		readTestFile(t, filepath.Join(injectTestdata, "pod.injected.yaml")) + "---\n" +
		readTestFile(t, filepath.Join(injectTestdata, "web.injected.json"))
	if out != want {
		t.Errorf("stdout:\n%s", out)
	}
	if n := strings.Count(errs, "inject: "); n != 3 {
		t.Errorf("%d report lines, want 3:\n%s", n, errs)
	}
}

func TestInjectInPlace(t *testing.T) {
	dir := t.TempDir()
	shop, svc := filepath.Join(dir, "shop.yaml"), filepath.Join(dir, "svc.yaml")
	copyFile(t, filepath.Join(injectTestdata, "shop.yaml"), shop)
	service := "apiVersion: v1\nkind: Service\nmetadata:\n  name: x\n"
	writeTestFile(t, svc, service)
	if err := os.Chmod(shop, 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := os.Stat(svc)
	if err != nil {
		t.Fatal(err)
	}

	code, out, errs := runInject(t, "", "-f", dir, "--in-place", "--config", injectConfig)
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if out != "" {
		t.Errorf("stdout with --in-place: %q", out)
	}
	if got, want := readTestFile(t, shop), readTestFile(t, filepath.Join(injectTestdata, "shop.injected.yaml")); got != want {
		t.Errorf("shop.yaml not rewritten to the golden output:\n%s", got)
	}
	if info, err := os.Stat(shop); err != nil || info.Mode().Perm() != 0o600 {
		t.Errorf("mode not kept: %v %v", info.Mode(), err)
	}
	after, err := os.Stat(svc)
	if err != nil || !os.SameFile(before, after) || readTestFile(t, svc) != service {
		t.Errorf("unchanged svc.yaml was rewritten")
	}
	if !strings.Contains(errs, "inject: wrote "+shop+"\n") || strings.Contains(errs, "wrote "+svc) {
		t.Errorf("stderr:\n%s", errs)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 2 {
		t.Errorf("temporary files left: %v", entries)
	}

	// A second run changes nothing.
	code, _, errs = runInject(t, "", "-f", dir, "--in-place", "--config", injectConfig)
	if code != cli.ExitOK || strings.Contains(errs, "wrote") {
		t.Errorf("second run: exit %d:\n%s", code, errs)
	}
}

// TestInjectInPlaceAllOrNothing: when one file fails no file is written.
func TestInjectInPlaceAllOrNothing(t *testing.T) {
	dir := t.TempDir()
	good, bad := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
	copyFile(t, filepath.Join(injectTestdata, "pod.yaml"), good)
	broken := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n   labels: x\n"
	writeTestFile(t, bad, broken)
	code, _, errs := runInject(t, "", "-f", dir, "--in-place", "--config", injectConfig)
	if code != cli.ExitUsage {
		t.Fatalf("exit %d, want %d:\n%s", code, cli.ExitUsage, errs)
	}
	if !strings.Contains(errs, bad+": document 1, line 5: ") {
		t.Errorf("error does not name the file, document and line:\n%s", errs)
	}
	if readTestFile(t, good) != readTestFile(t, filepath.Join(injectTestdata, "pod.yaml")) || readTestFile(t, bad) != broken {
		t.Error("a file was written although another failed")
	}
}

func TestInjectOutputFile(t *testing.T) {
	dst := filepath.Join(t.TempDir(), "out.yaml")
	code, out, errs := runInject(t, "", "-f", filepath.Join(injectTestdata, "list.yaml"), "-o", dst, "--config", injectConfig)
	if code != cli.ExitOK || out != "" {
		t.Fatalf("exit %d, stdout %q: %s", code, out, errs)
	}
	if readTestFile(t, dst) != readTestFile(t, filepath.Join(injectTestdata, "list.injected.yaml")) {
		t.Error("-o file is not the golden output")
	}
}

func TestInjectBadConfig(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "inzone.yaml")
	writeTestFile(t, cfg, "sidecar:\n  image: envoy\n  uid: 0\nspread:\n  maxskew: 2\n")
	code, out, errs := runInject(t, "", "-f", filepath.Join(injectTestdata, "pod.yaml"), "--config", cfg)
	if code != cli.ExitUsage {
		t.Fatalf("exit %d, want %d:\n%s", code, cli.ExitUsage, errs)
	}
	if out != "" {
		t.Errorf("output despite the bad config: %q", out)
	}
	for _, want := range []string{cfg, "line 5", "spread.maxskew"} {
		if !strings.Contains(errs, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errs)
		}
	}

	writeTestFile(t, cfg, "sidecar:\n  uid: -1\n")
	code, _, errs = runInject(t, "", "-f", filepath.Join(injectTestdata, "pod.yaml"), "--config", cfg)
	if code != cli.ExitUsage || !strings.Contains(errs, cfg) || !strings.Contains(errs, "line 2") || !strings.Contains(errs, "sidecar.uid") {
		t.Errorf("exit %d:\n%s", code, errs)
	}
}

func TestInjectNativeSidecarFlag(t *testing.T) {
	pod := filepath.Join(injectTestdata, "pod.yaml")
	code, out, errs := runInject(t, "", "-f", pod, "--config", injectConfig, "--native-sidecar", "false")
	if code != cli.ExitOK {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Contains(out, "restartPolicy: Always") || !strings.Contains(out, "- name: inzone-proxy") {
		t.Errorf("--native-sidecar false still made a native sidecar:\n%s", out)
	}
	// auto means true offline.
	_, auto, _ := runInject(t, "", "-f", pod, "--config", injectConfig, "--native-sidecar", "auto")
	if auto != readTestFile(t, filepath.Join(injectTestdata, "pod.injected.yaml")) {
		t.Errorf("--native-sidecar auto is not a native sidecar")
	}
}

func TestInjectUsageErrors(t *testing.T) {
	pod := filepath.Join(injectTestdata, "pod.yaml")
	for name, args := range map[string][]string{
		"no input":              {},
		"missing file":          {"-f", filepath.Join(t.TempDir(), "nope.yaml")},
		"in-place stdin":        {"-f", "-", "--in-place"},
		"in-place and output":   {"-f", pod, "--in-place", "-o", "x.yaml"},
		"bad native-sidecar":    {"-f", pod, "--native-sidecar", "maybe"},
		"positional argument":   {pod},
		"stdin twice":           {"-f", "-", "-f", "-"},
		"empty directory":       {"-f", t.TempDir()},
		"invalid annotation":    {"-f", "-"},
		"unknown flag":          {"-f", pod, "--namespace", "x"},
		"missing config":        {"-f", pod, "--config", filepath.Join(t.TempDir(), "nope.yaml")},
		"broken document stdin": {"-f", "-"},
	} {
		t.Run(name, func(t *testing.T) {
			stdin := ""
			switch name {
			case "invalid annotation":
				stdin = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  annotations:\n    inzone.io/sidecar: maybe\nspec:\n  containers:\n  - name: a\n    image: b\n"
			case "broken document stdin":
				stdin = "a: [\n"
			}
			code, out, errs := runInject(t, stdin, args...)
			if code != cli.ExitUsage || out != "" {
				t.Errorf("exit %d, stdout %q, want exit %d and no output:\n%s", code, out, cli.ExitUsage, errs)
			}
			if !strings.Contains(errs, "inzone: ") {
				t.Errorf("no error message:\n%s", errs)
			}
			if name == "invalid annotation" && !strings.Contains(errs, "stdin: document 1, line 6: Pod p: annotation inzone.io/sidecar") {
				t.Errorf("error does not name the object and annotation:\n%s", errs)
			}
		})
	}
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	writeTestFile(t, to, readTestFile(t, from))
}

func writeTestFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestInjectControlPlaneCA(t *testing.T) {
	pod := filepath.Join(injectTestdata, "pod.yaml")
	big := filepath.Join(t.TempDir(), "big.pem")
	if err := os.WriteFile(big, make([]byte, 70<<10), 0o644); err != nil {
		t.Fatal(err)
	}
	notCA := filepath.Join(t.TempDir(), "not-ca.pem")
	if err := os.WriteFile(notCA, []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		args    []string
		code    int
		wantErr string // in stderr
		sidecar bool
	}{
		{name: "without a CA no sidecar is injected, with a warning", args: nil, code: cli.ExitOK, wantErr: "no CA to check its control plane", sidecar: false},
		{name: "a CA gives a sidecar speaking TLS", args: []string{"--control-plane-ca", injectCA}, code: cli.ExitOK, sidecar: true},
		{name: "a missing CA file is a usage error", args: []string{"--control-plane-ca", filepath.Join(t.TempDir(), "nope.pem")}, code: cli.ExitUsage, wantErr: "--control-plane-ca"},
		{name: "a device is not read", args: []string{"--control-plane-ca", "/dev/zero"}, code: cli.ExitUsage, wantErr: "not a regular file"},
		{name: "a huge file is not read", args: []string{"--control-plane-ca", big}, code: cli.ExitUsage, wantErr: "larger than"},
		{name: "a CA that is not a certificate is an error", args: []string{"--control-plane-ca", notCA}, code: cli.ExitUsage, wantErr: "control-plane CA: certificate 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := append([]string{"inject", "-f", pod, "--config", injectConfig}, tt.args...)
			code, out, errs := clitest.Run(t, NewCommand, "", args...)
			if code != tt.code || !strings.Contains(errs, tt.wantErr) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, errs, tt.code, tt.wantErr)
			}
			if got := strings.Contains(out, "- name: inzone-proxy"); got != tt.sidecar {
				t.Errorf("sidecar injected: %v, want %v", got, tt.sidecar)
			}
			if tt.sidecar && !strings.Contains(out, "envoy.transport_sockets.tls") {
				t.Errorf("the sidecar's bootstrap has no TLS")
			}
		})
	}
}

// TestInjectInPlaceLinks: --in-place writes through a symlink, keeping it a
// link, and refuses files it cannot replace without forking them: other
// hard links, dangling symlinks, special files. A refusal writes nothing.
func TestInjectInPlaceLinks(t *testing.T) {
	golden := readTestFile(t, filepath.Join(injectTestdata, "shop.injected.yaml"))
	original := readTestFile(t, filepath.Join(injectTestdata, "shop.yaml"))

	t.Run("symlink", func(t *testing.T) {
		dir := t.TempDir()
		real, link := filepath.Join(dir, "real", "shop.yaml"), filepath.Join(dir, "in", "link.yaml")
		for _, d := range []string{filepath.Dir(real), filepath.Dir(link)} {
			if err := os.Mkdir(d, 0o755); err != nil {
				t.Fatal(err)
			}
		}
		copyFile(t, filepath.Join(injectTestdata, "shop.yaml"), real)
		if err := os.Symlink(filepath.Join("..", "real", "shop.yaml"), link); err != nil {
			t.Fatal(err)
		}
		code, _, errs := runInject(t, "", "-f", filepath.Dir(link), "--in-place", "--config", injectConfig)
		if code != cli.ExitOK {
			t.Fatalf("exit %d: %s", code, errs)
		}
		if info, err := os.Lstat(link); err != nil || info.Mode().Type() != fs.ModeSymlink {
			t.Fatalf("%s is no longer a symlink: %v %v", link, info.Mode(), err)
		}
		if got := readTestFile(t, real); got != golden {
			t.Errorf("the link's target not rewritten:\n%s", got)
		}
		entries, _ := os.ReadDir(filepath.Dir(real))
		if len(entries) != 1 {
			t.Errorf("temporary files left: %v", entries)
		}
	})

	t.Run("symlink and its target both given", func(t *testing.T) {
		dir := t.TempDir()
		real, link := filepath.Join(dir, "a.yaml"), filepath.Join(dir, "b.yaml")
		copyFile(t, filepath.Join(injectTestdata, "shop.yaml"), real)
		if err := os.Symlink("a.yaml", link); err != nil {
			t.Fatal(err)
		}
		code, _, errs := runInject(t, "", "-f", dir, "--in-place", "--config", injectConfig)
		if code != cli.ExitOK || readTestFile(t, real) != golden || strings.Count(errs, "wrote") != 1 {
			t.Errorf("exit %d:\n%s", code, errs)
		}
	})

	for _, tc := range []struct {
		name  string
		setup func(t *testing.T, dir, file string) // makes a second name or special file
		want  string
	}{
		{"hard link", func(t *testing.T, dir, file string) {
			if err := os.Link(file, filepath.Join(dir, "other-name")); err != nil {
				t.Fatal(err)
			}
		}, "has 2 hard links"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			file := filepath.Join(dir, "shop.yaml")
			copyFile(t, filepath.Join(injectTestdata, "shop.yaml"), file)
			before, _ := os.Stat(file)
			tc.setup(t, dir, file)
			code, _, errs := runInject(t, "", "-f", file, "--in-place", "--config", injectConfig)
			if code != cli.ExitUsage || !strings.Contains(errs, file+": "+tc.want) {
				t.Fatalf("exit %d, want %d and %q:\n%s", code, cli.ExitUsage, tc.want, errs)
			}
			after, _ := os.Stat(file)
			if readTestFile(t, file) != original || !os.SameFile(before, after) {
				t.Error("the file was replaced")
			}
		})
	}

	t.Run("-o to a dangling symlink", func(t *testing.T) {
		dir := t.TempDir()
		dst := filepath.Join(dir, "out.yaml")
		if err := os.Symlink(filepath.Join(dir, "missing", "x.yaml"), dst); err != nil {
			t.Fatal(err)
		}
		code, _, errs := runInject(t, "", "-f", filepath.Join(injectTestdata, "shop.yaml"), "-o", dst, "--config", injectConfig)
		if code != cli.ExitUsage || !strings.Contains(errs, "a symlink to a missing file") {
			t.Errorf("exit %d:\n%s", code, errs)
		}
	})

	t.Run("-o to a device", func(t *testing.T) {
		code, _, errs := runInject(t, "", "-f", filepath.Join(injectTestdata, "shop.yaml"), "-o", os.DevNull, "--config", injectConfig)
		if code != cli.ExitUsage || !strings.Contains(errs, "not a regular file") {
			t.Errorf("exit %d:\n%s", code, errs)
		}
	})
}

// TestInjectSpecialFiles: a named pipe or a device among the inputs is an
// error naming it, not a read that blocks or never ends.
func TestInjectSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	copyFile(t, filepath.Join(injectTestdata, "pod.yaml"), filepath.Join(dir, "a.yaml"))
	if err := syscall.Mkfifo(filepath.Join(dir, "b.yaml"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/dev/zero", filepath.Join(dir, "c.yaml")); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"b.yaml", "c.yaml"} {
		code, out, errs := runInject(t, "", "-f", filepath.Join(dir, "a.yaml"), "-f", filepath.Join(dir, f), "--config", injectConfig)
		if code != cli.ExitUsage || out != "" || !strings.Contains(errs, filepath.Join(dir, f)+": not a regular file") {
			t.Errorf("%s: exit %d:\n%s", f, code, errs)
		}
	}
}
