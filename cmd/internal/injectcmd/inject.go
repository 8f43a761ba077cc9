// Package injectcmd is `inzone inject`: it applies the webhook's mutations
// (package inject) to manifest files, stdin or a directory, and writes the
// result to stdout, a file or the files themselves, all or nothing.
package injectcmd

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/inject"
	"github.com/inzone-io/inzone/internal/configfile"
	"github.com/inzone-io/inzone/internal/regularfile"
	"github.com/inzone-io/inzone/mutate"
)

// Options are `inzone inject`'s flags.
type Options struct {
	Files         []string // -f: files, directories, - for stdin
	ConfigPath    string   // --config: the webhook's config file
	NativeSidecar string   // --native-sidecar: "" (the config's), auto, true, false
	Output        string   // -o: write the stream here instead of stdout
	InPlace       bool     // --in-place: rewrite each file
	CAPath        string   // --control-plane-ca: PEM of the CA that signs inzone-xds's certificate

	streams cli.Streams
	engine  *mutate.Engine
	inputs  []string // Files with directories expanded, in order, no duplicates
}

// NewCommand builds `inzone inject`.
func NewCommand(s cli.Streams) *cobra.Command {
	o := &Options{streams: s}
	cmd := &cobra.Command{
		Use:   "inject -f FILE|DIR|- [-f ...]",
		Short: "Apply the webhook's mutations to manifests offline",
		Long: `Apply the same mutations as inzone's admission webhook (sidecar, zone env,
zone spread, ELB to DDSD rewrite) to every Pod and pod template in Kubernetes
manifests, like istioctl kube-inject, so a GitOps repository can commit the
mutated form.

Documents that need no change, and everything that is not a Pod, Deployment,
StatefulSet, DaemonSet, ReplicaSet, Job or CronJob, are written back byte for
byte; in a changed document only the lines the mutation touches change.
Running inject on its own output changes nothing. A changed JSON document
stays JSON.

What was applied or skipped goes to stderr, one line per object. Exit codes:
0 success, 2 usage, parse or config errors (nothing is written).`,
		Example: `  inzone inject -f deploy.yaml > deploy.injected.yaml
  inzone inject -f manifests/ --config inzone.yaml --in-place
  kustomize build overlays/prod | inzone inject -f - -o rendered.yaml`,
		Args:          cobra.NoArgs,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			if err := o.Validate(); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			if err := o.Run(); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			return nil
		},
	}
	f := cmd.Flags()
	f.StringArrayVarP(&o.Files, "filename", "f", nil, "manifest file, directory (walked recursively for *.yaml, *.yml, *.json) or - for stdin; repeatable")
	f.StringVar(&o.ConfigPath, "config", "", "inzone config file, the same as the webhook's; empty uses the built-in defaults")
	f.StringVar(&o.NativeSidecar, "native-sidecar", "", "auto, true or false; overrides the config's sidecar.nativeSidecar. "+
		"There is no API server to ask offline, so auto means true (native sidecars need Kubernetes >= 1.29, supported everywhere today)")
	f.StringVarP(&o.Output, "output", "o", "", "write the result to this file instead of stdout")
	f.BoolVar(&o.InPlace, "in-place", false, "rewrite each input file (only if it changes); no file is written unless every file succeeds")
	f.StringVar(&o.CAPath, "control-plane-ca", "", "PEM file of the CA that signs inzone-xds's certificate (the webhook's ca.crt), put into each sidecar's bootstrap; "+
		"without it no sidecar is injected unless the config sets sidecar.controlPlane.plaintext")
	return cmd
}

// Complete loads the config, builds the engine and expands directories.
func (o *Options) Complete() error {
	if len(o.Files) == 0 {
		return errors.New("no input: give at least one -f FILE, -f DIR or -f -")
	}
	cfg, err := configfile.Load(o.ConfigPath)
	if err != nil {
		return fmt.Errorf("--config: %w", err)
	}
	switch mode := mutate.NativeSidecarMode(o.NativeSidecar); mode {
	case "":
	case mutate.NativeSidecarAuto, mutate.NativeSidecarTrue, mutate.NativeSidecarFalse:
		cfg.Sidecar.NativeSidecar = mode
	default:
		return fmt.Errorf("--native-sidecar %q: must be auto, true or false", o.NativeSidecar)
	}
	var ca []byte
	if o.CAPath != "" {
		if ca, err = regularfile.Read(o.CAPath, mutate.MaxControlPlaneCABytes); err != nil {
			return fmt.Errorf("--control-plane-ca: %w", err)
		}
	}
	// Offline, auto resolves to true.
	e, err := mutate.NewEngine(cfg, mutate.Options{NativeSidecarSupported: true, ControlPlaneCA: ca})
	if err != nil {
		return err
	}
	o.engine = e

	o.inputs = nil
	seen := map[string]bool{}
	add := func(p string) {
		if !seen[p] {
			seen[p] = true
			o.inputs = append(o.inputs, p)
		}
	}
	for _, f := range o.Files {
		if f == "-" {
			add(f)
			continue
		}
		files, err := expand(f)
		if err != nil {
			return err
		}
		for _, p := range files {
			add(p)
		}
	}
	return nil
}

// expand lists a file, or a directory's *.yaml, *.yml and *.json files
// (recursively, sorted, skipping hidden directories).
func expand(path string) ([]string, error) {
	path = filepath.Clean(path)
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != path && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			return nil
		}
		switch strings.ToLower(filepath.Ext(p)) {
		case ".yaml", ".yml", ".json":
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(files)
	return files, nil
}

// Validate checks that the flags go together.
func (o *Options) Validate() error {
	if o.InPlace && o.Output != "" {
		return errors.New("--in-place and -o are exclusive: --in-place rewrites each input file")
	}
	if o.InPlace && slices.Contains(o.inputs, "-") {
		return errors.New("--in-place cannot rewrite stdin (-f -)")
	}
	if n := slices.Index(o.Files, "-"); n >= 0 && slices.Index(o.Files[n+1:], "-") >= 0 {
		return errors.New("-f - given more than once: stdin can be read once")
	}
	if len(o.inputs) == 0 {
		return fmt.Errorf("no *.yaml, *.yml or *.json files in %s", strings.Join(o.Files, ", "))
	}
	return nil
}

// result is one input's outcome.
type result struct {
	path    string
	in, out []byte
}

// Run injects every input, reports to stderr, and only then writes: to
// stdout, -o, or each changed file with --in-place.
func (o *Options) Run() error {
	results := make([]result, 0, len(o.inputs))
	for _, path := range o.inputs {
		var data []byte
		var err error
		if path == "-" {
			data, err = io.ReadAll(o.streams.In)
		} else {
			data, err = readInput(path)
		}
		if err != nil {
			return err
		}
		out, reports, err := inject.Manifests(data, o.engine)
		if err != nil {
			name := path
			if path == "-" {
				name = "stdin"
			}
			return fmt.Errorf("%s: %w", name, err)
		}
		for _, r := range reports {
			writeReport(o.streams.Err, &r)
		}
		results = append(results, result{path, data, out})
	}

	if o.InPlace {
		var changed []result
		for _, r := range results {
			if !bytes.Equal(r.in, r.out) {
				changed = append(changed, r)
			}
		}
		written, err := writeAll(changed)
		if err != nil {
			return err
		}
		for _, path := range written {
			fmt.Fprintf(o.streams.Err, "inject: wrote %s\n", path)
		}
		return nil
	}

	var stream bytes.Buffer
	for _, r := range results {
		if len(bytes.TrimSpace(r.out)) == 0 {
			continue
		}
		if stream.Len() > 0 {
			if !bytes.HasSuffix(stream.Bytes(), []byte("\n")) {
				stream.WriteByte('\n')
			}
			if !startsWithMarker(r.out) {
				stream.WriteString("---\n")
			}
		}
		stream.Write(r.out)
	}
	if o.Output != "" {
		_, err := writeAll([]result{{path: o.Output, out: stream.Bytes()}})
		return err
	}
	_, err := o.streams.Out.Write(stream.Bytes())
	return err
}

// readInput reads a regular file; a named pipe, a device or a socket is
// an error rather than a read that blocks or never ends.
func readInput(path string) ([]byte, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !info.Mode().IsRegular() {
		return nil, fmt.Errorf("%s: not a regular file (%s)", path, info.Mode().Type())
	}
	return os.ReadFile(path)
}

func startsWithMarker(b []byte) bool {
	first, _, _ := bytes.Cut(b, []byte("\n"))
	first = bytes.TrimRight(first, "\r")
	return bytes.Equal(first, []byte("---")) || bytes.HasPrefix(first, []byte("--- "))
}

// writeReport writes one object's line, then its warnings:
//
//	inject: Deployment shop/web: applied ddsd-rewrite, zone-env, spread, sidecar
//	inject: DaemonSet infra/agent: applied zone-env, sidecar; skipped spread (daemonset)
//	warning: CronJob shop/report: zone spread not added: ...
func writeReport(w io.Writer, r *inject.Report) {
	var parts []string
	if len(r.Applied) > 0 {
		parts = append(parts, "applied "+strings.Join(r.Applied, ", "))
	}
	var skipped []string
	for _, s := range r.Skips {
		if s.Mutation == "" { // the whole pod
			parts = append(parts, "skipped: "+s.Message)
			continue
		}
		skipped = append(skipped, fmt.Sprintf("%s (%s)", s.Mutation, s.Reason))
	}
	if len(skipped) > 0 {
		parts = append(parts, "skipped "+strings.Join(skipped, ", "))
	}
	if len(parts) == 0 {
		parts = append(parts, "unchanged (nothing to apply)")
	}
	fmt.Fprintf(w, "inject: %s: %s\n", r.Object(), strings.Join(parts, "; "))
	for _, warn := range r.Warnings {
		fmt.Fprintf(w, "warning: %s: %s\n", r.Object(), warn)
	}
}

// writeAll writes every file through a temporary file in its
// directory, renaming them into place only once all were written, so that a
// failure leaves every file as it was. A symlink is written through to the
// file it leads to, so it stays a link; a file with more than one hard link
// is refused before anything is written, since a rename would leave its
// other names with the old content. It returns the paths written.
func writeAll(files []result) ([]string, error) {
	var targets []string
	seen := map[string]bool{}
	unique := files[:0:0]
	for _, f := range files {
		t, err := writeTarget(f.path)
		if err != nil {
			return nil, err
		}
		if !seen[t] { // a link and its target both given: one write
			seen[t] = true
			targets, unique = append(targets, t), append(unique, f)
		}
	}
	files = unique
	var temps, written []string
	cleanup := func() {
		for _, t := range temps {
			os.Remove(t)
		}
	}
	for i, f := range files {
		tmp, err := writeTemp(targets[i], f.out)
		if err != nil {
			cleanup()
			return nil, err
		}
		temps = append(temps, tmp)
	}
	for i, f := range files {
		if err := os.Rename(temps[i], targets[i]); err != nil {
			cleanup()
			return nil, fmt.Errorf("%s: %w (files before it were already rewritten)", f.path, err)
		}
		temps[i] = ""
		written = append(written, f.path)
	}
	return written, nil
}

// writeTarget is the file a write to path replaces: path, or the file its
// symlinks lead to. A missing path is created; a dangling symlink, a file
// that is not a regular file, and a file with other hard links are errors.
func writeTarget(path string) (string, error) {
	target, err := filepath.EvalSymlinks(path)
	if errors.Is(err, fs.ErrNotExist) {
		if _, lerr := os.Lstat(path); lerr == nil {
			return "", fmt.Errorf("%s: a symlink to a missing file; not written", path)
		}
		return path, nil
	}
	if err != nil {
		return "", err
	}
	info, err := os.Stat(target)
	if err != nil {
		return "", err
	}
	if !info.Mode().IsRegular() {
		return "", fmt.Errorf("%s: not a regular file (%s); not written", path, info.Mode().Type())
	}
	if n := hardLinks(info); n > 1 {
		return "", fmt.Errorf("%s: has %d hard links, and replacing it would leave the others with the old content; not written (break the links, or use -o)", path, n)
	}
	return target, nil
}

func writeTemp(path string, data []byte) (string, error) {
	mode := fs.FileMode(0o644)
	if info, err := os.Stat(path); err == nil {
		mode = info.Mode().Perm()
	}
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".inzone-*")
	if err != nil {
		return "", err
	}
	tmp := f.Name()
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(tmp, mode)
	}
	if err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("%s: %w", path, err)
	}
	return tmp, nil
}
