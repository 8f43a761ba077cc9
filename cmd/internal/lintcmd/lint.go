// Package lintcmd is `inzone lint`: its flags, bounds (file size, render
// time, heap) and exit codes, around package lint, and the verify and
// rules subcommands. Only the inzone binary links it: it is the command
// that brings in Helm and kustomize (through lint's sources).
package lintcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/inzone-io/inzone/cmd/internal/cli"
	"github.com/inzone-io/inzone/internal/configfile"
	"github.com/inzone-io/inzone/lint"
	"github.com/inzone-io/inzone/lint/file"
	"github.com/inzone-io/inzone/lint/rego"
	"github.com/inzone-io/inzone/lint/source"
	"github.com/inzone-io/inzone/mutate"
	"github.com/inzone-io/inzone/policies"
	"github.com/inzone-io/inzone/report"
)

// Options are `inzone lint`'s flags.
type Options struct {
	Format        string
	FailOn        string
	Policies      []string
	ConfigPath    string // the inzone config, for ELB->DDSD hints
	LintConfig    string // .inzone.yaml
	Ignore        []string
	Values        string
	Paths         []string
	MaxFileSize   string        // --max-file-size, a quantity (32Mi)
	FollowLinks   bool          // --follow-symlinks
	AllowRemote   bool          // --allow-remote
	RenderTimeout time.Duration // --render-timeout
	MaxMemory     string        // --max-memory, a quantity (2Gi); 0 for none
	maxFileSize   int64
	maxMemory     int64
	exit          func(code int) // ends the process when --max-memory is passed
	guard         *memoryGuard
	streams       cli.Streams
	cfg           *lint.Config
	engine        *rego.Engine
	engineStarted <-chan error // the engine is set when it yields nil
	cfgData       []byte       // the lint config, checked again once the rules are known
	cfgPath       string
	stdin         []byte
	readFromStdin bool
}

// NewCommand builds `inzone lint` and its subcommands verify and rules.
func NewCommand(s cli.Streams) *cobra.Command {
	o := &Options{streams: s, exit: os.Exit}
	cmd := &cobra.Command{
		Use:   "lint [PATH ...]",
		Short: "Find what defeats zone locality in manifests and Envoy configs",
		Long: `Lint Kubernetes manifests, Helm charts, kustomize directories and Envoy
configs for what sends traffic across zones or through an extra hop.

PATH is a file, a directory (walked recursively), or - for standard input;
the default is the current directory. Only regular files are read, and
symlinks only within the tree given (--follow-symlinks); kustomizations may
not fetch remote resources (--allow-remote). Exit codes: 0 clean, 1
findings at or above --fail-on, 2 usage, parse or config errors or a limit
passed (--max-file-size, --render-timeout, --max-memory), 3 an internal
error.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			o.Paths = args
			defer func() {
				if o.guard != nil {
					o.guard.Stop()
				}
			}()
			if err := o.Complete(cmd.Context()); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			if err := o.Validate(); err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVarP(&o.Format, "format", "o", "text", "output format: "+strings.Join(report.Formats, ", "))
	f.StringVar(&o.FailOn, "fail-on", "", "exit 1 when a finding has this severity or higher: error, warning, info (default error, or failOn in .inzone.yaml)")
	f.StringArrayVar(&o.Policies, "policy", nil, "directory of additional Rego policies (repeatable)")
	f.StringVar(&o.ConfigPath, "config", "", "inzone config (the webhook's), whose ddsd.elbs map gives DDSD names in hints")
	f.StringVar(&o.LintConfig, "lint-config", "", "lint config (default: "+lint.ConfigFile+" in the current directory, if present)")
	f.StringArrayVar(&o.Ignore, "ignore", nil, "glob of paths not to lint (repeatable; ** spans directories)")
	f.StringVar(&o.Values, "values", "", "values file for Helm charts")
	f.StringVar(&o.MaxFileSize, "max-file-size", "32Mi", "largest file to read (bytes, or a quantity such as 64Mi); larger files are reported, not read")
	f.BoolVar(&o.FollowLinks, "follow-symlinks", false, "read symlinks that lead out of the tree they are found in (by default they are reported, not read)")
	f.BoolVar(&o.AllowRemote, "allow-remote", false, "let kustomizations fetch remote resources (http(s) URLs, git repositories); off, a kustomization naming one is an error and nothing is fetched or run")
	f.DurationVar(&o.RenderTimeout, "render-timeout", source.DefaultRenderTimeout, "longest time to render one Helm chart")
	f.StringVar(&o.MaxMemory, "max-memory", "2Gi", "heap the run may use (a quantity; 0 for no limit); the run stops with an error beyond it")
	cmd.AddCommand(newVerifyCommand(s), newRulesCommand(s))
	return cmd
}

// Complete reads the configs and stdin, and starts parsing the policies,
// which Run waits for.
func (o *Options) Complete(ctx context.Context) error {
	if len(o.Paths) == 0 {
		o.Paths = []string{"."}
	}
	var err error
	if o.maxFileSize, err = parseBytes(o.MaxFileSize); err != nil || o.maxFileSize <= 0 {
		return fmt.Errorf("--max-file-size %q: want a positive size such as 32Mi", o.MaxFileSize)
	}
	if o.maxMemory, err = parseBytes(o.MaxMemory); err != nil || o.maxMemory < 0 {
		return fmt.Errorf("--max-memory %q: want a size such as 2Gi, or 0", o.MaxMemory)
	}
	var lookup rego.ELBLookup
	if o.ConfigPath != "" {
		mc, err := configfile.Load(o.ConfigPath)
		if err != nil {
			return fmt.Errorf("--config: %w", err)
		}
		me, err := mutate.NewEngine(mc, mutate.Options{})
		if err != nil {
			return err
		}
		lookup = func(key string) (string, bool) { return me.LookupELB(key, "") }
	}
	fss, err := policyFS(o.Policies)
	if err != nil {
		return err
	}
	// The guard runs from here (the policies' parsing) to the end of Run.
	o.guard = startMemoryGuard(o.maxMemory, func(live uint64) {
		fmt.Fprintf(o.streams.Err, "inzone lint: stopped: the heap reached %d MiB, over --max-memory %s; lint fewer or smaller files at once, or raise --max-memory\n", live>>20, o.MaxMemory)
		o.exit(cli.ExitUsage)
	})
	// The policies are parsed while the rest is read and the files are
	// listed (Run); they compile while the files are linted.
	started := make(chan error, 1)
	go func() {
		var err error
		o.engine, err = rego.Start(ctx, rego.Options{Policies: fss, ELBs: lookup})
		started <- err
	}()
	o.engineStarted = started
	path, required := o.LintConfig, true
	if path == "" {
		path, required = lint.ConfigFile, false
	}
	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		// Rule IDs are checked once the rules are read (Run).
		if o.cfg, err = lint.LoadConfig(data, path, nil); err != nil {
			return err
		}
		o.cfgData, o.cfgPath = data, path
	case errors.Is(err, fs.ErrNotExist) && !required:
		o.cfg = &lint.Config{}
	default:
		return err
	}
	for _, p := range o.Paths {
		if p == "-" {
			if o.stdin, err = io.ReadAll(io.LimitReader(o.streams.In, o.maxFileSize+1)); err != nil {
				return fmt.Errorf("reading stdin: %w", err)
			}
			if int64(len(o.stdin)) > o.maxFileSize {
				return fmt.Errorf("stdin: over the %d-byte limit on one file (--max-file-size)", o.maxFileSize)
			}
			o.readFromStdin = true
		}
	}
	return nil
}

// startedEngine waits for the policies to be parsed and checks the lint
// config's rule IDs against them.
func (o *Options) startedEngine() error {
	if err := <-o.engineStarted; err != nil {
		return err
	}
	if o.cfgData != nil {
		if _, err := lint.LoadConfig(o.cfgData, o.cfgPath, o.engine); err != nil {
			return err
		}
	}
	return nil
}

// policyFS is the shipped policies plus the user's directories.
func policyFS(dirs []string) ([]fs.FS, error) {
	fss := []fs.FS{policies.FS}
	for _, d := range dirs {
		st, err := os.Stat(d)
		if err != nil {
			return nil, fmt.Errorf("--policy: %w", err)
		}
		if !st.IsDir() {
			return nil, fmt.Errorf("--policy %s: not a directory", d)
		}
		fss = append(fss, os.DirFS(d))
	}
	return fss, nil
}

// Validate checks the flags.
func (o *Options) Validate() error {
	if o.RenderTimeout <= 0 {
		return fmt.Errorf("--render-timeout %s: want a positive duration", o.RenderTimeout)
	}
	if !slices.Contains(report.Formats, o.Format) {
		return fmt.Errorf("--format %q: want one of %s", o.Format, strings.Join(report.Formats, ", "))
	}
	if o.FailOn != "" {
		if _, err := report.ParseSeverity(o.FailOn); err != nil {
			return fmt.Errorf("--fail-on: %w", err)
		}
	}
	return nil
}

// Run lints and writes the report; the exit code follows the worst finding.
func (o *Options) Run(ctx context.Context) error {
	var files []file.File
	var errs []report.FileError
	if o.readFromStdin {
		files = append(files, file.File{Path: source.StdinPath, Data: o.stdin})
	}
	var values []byte
	if o.Values != "" {
		var err error
		if values, err = os.ReadFile(o.Values); err != nil {
			return cli.WithCode(cli.ExitUsage, err)
		}
	}
	ignore := o.Ignore
	for _, ig := range o.cfg.Ignore {
		if len(ig.Rules) == 0 {
			ignore = append(ignore, ig.Paths...)
		}
	}
	for root, paths := range groupByRoot(o.Paths) {
		fsys := os.DirFS(root)
		fl, fe := source.Collect(fsys, paths, source.Options{Ignore: ignore, Values: values,
			MaxFileSize: o.maxFileSize, FollowSymlinks: o.FollowLinks, AllowRemote: o.AllowRemote, RenderTimeout: o.RenderTimeout})
		prefix := ""
		if root != "." {
			prefix = root
		}
		for _, f := range fl {
			f.Path = filepath.ToSlash(filepath.Join(prefix, f.Path))
			files = append(files, f)
		}
		for _, e := range fe {
			errs = append(errs, report.FileError{File: filepath.ToSlash(filepath.Join(prefix, e.File)), Message: e.Message})
		}
	}
	if err := o.startedEngine(); err != nil {
		return cli.WithCode(cli.ExitUsage, err)
	}
	l := &lint.Linter{Engine: o.engine, Config: o.cfg}
	rep := l.Lint(ctx, files)
	// The files were read and parsed while the policies compiled; a
	// policy that does not compile makes every evaluation fail, and that
	// one error is what to report.
	if err := o.engine.Ready(); err != nil {
		return cli.WithCode(cli.ExitUsage, err)
	}
	rep.Errors = append(errs, rep.Errors...)
	if err := report.Write(o.streams.Out, o.Format, &report.Results{Findings: rep.Findings, Errors: rep.Errors}, o.engine.Rules(), cli.Version()); err != nil {
		return cli.WithCode(cli.ExitUsage, err)
	}
	if len(rep.Errors) > 0 {
		return cli.WithCode(cli.ExitUsage, fmt.Errorf("%d file(s) could not be linted", len(rep.Errors)))
	}
	failOn := report.SeverityError
	if o.cfg.FailOn != "" {
		failOn = o.cfg.FailOn
	}
	if o.FailOn != "" {
		failOn = report.Severity(o.FailOn)
	}
	for _, f := range rep.Findings {
		if f.Severity.Rank() >= failOn.Rank() {
			return cli.WithCode(cli.ExitFindings, nil)
		}
	}
	return nil
}

// groupByRoot maps each path to a root directory and a slash path under it:
// paths under the working directory stay relative (the repo-relative paths
// SARIF wants); others are read from their own absolute root.
func groupByRoot(paths []string) map[string][]string {
	out := map[string][]string{}
	cwd, _ := os.Getwd()
	for _, p := range paths {
		if p == "-" {
			continue
		}
		abs, err := filepath.Abs(p)
		if err != nil {
			abs = p
		}
		if rel, err := filepath.Rel(cwd, abs); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			out["."] = append(out["."], filepath.ToSlash(rel))
			continue
		}
		root := filepath.VolumeName(abs) + string(filepath.Separator)
		out[root] = append(out[root], filepath.ToSlash(strings.TrimPrefix(abs, root)))
	}
	return out
}

func newVerifyCommand(s cli.Streams) *cobra.Command {
	var dirs []string
	cmd := &cobra.Command{
		Use:   "verify",
		Short: "Run the policies' Rego unit tests (test_ rules), the shipped ones and --policy dirs",
		RunE: func(cmd *cobra.Command, _ []string) error {
			fss, err := policyFS(dirs)
			if err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			results, err := rego.Verify(cmd.Context(), fss...)
			if err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			failed := 0
			for _, r := range results {
				status := "PASS"
				if !r.Pass {
					status, failed = "FAIL", failed+1
				}
				fmt.Fprintf(s.Out, "%s %s.%s (%s)\n", status, r.Package, r.Name, r.Duration)
				if !r.Pass && r.Fail != "" {
					fmt.Fprintf(s.Out, "    %s\n", r.Fail)
				}
			}
			fmt.Fprintf(s.Out, "%d passed, %d failed\n", len(results)-failed, failed)
			if failed > 0 {
				return cli.WithCode(cli.ExitFindings, nil)
			}
			return nil
		},
	}
	cmd.Flags().StringArrayVar(&dirs, "policy", nil, "directory of additional Rego policies and tests (repeatable)")
	return cmd
}

func newRulesCommand(s cli.Streams) *cobra.Command {
	var dirs []string
	cmd := &cobra.Command{
		Use:   "rules",
		Short: "List the rules with their severity and fix",
		RunE: func(cmd *cobra.Command, _ []string) error {
			fss, err := policyFS(dirs)
			if err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			e, err := rego.New(cmd.Context(), rego.Options{Policies: fss})
			if err != nil {
				return cli.WithCode(cli.ExitUsage, err)
			}
			w := tabwriter.NewWriter(s.Out, 2, 4, 2, ' ', 0)
			fmt.Fprintln(w, "RULE\tSEVERITY\tTITLE")
			for _, r := range e.Rules() {
				fmt.Fprintf(w, "%s\t%s\t%s\n", r.ID, r.Severity, r.Title)
			}
			return w.Flush()
		},
	}
	cmd.Flags().StringArrayVar(&dirs, "policy", nil, "directory of additional Rego policies (repeatable)")
	return cmd
}

// parseBytes reads a size in bytes: a plain number or a Kubernetes quantity
// (64Mi, 1G).
func parseBytes(s string) (int64, error) {
	q, err := resource.ParseQuantity(s)
	if err != nil {
		return 0, err
	}
	v, ok := q.AsInt64()
	if !ok {
		return 0, fmt.Errorf("%s is out of range", s)
	}
	return v, nil
}
