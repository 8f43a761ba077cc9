package source

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"path"
	"strings"

	yaml "go.yaml.in/yaml/v3"

	"github.com/inzone-io/inzone/internal/yamldoc"
)

// checkAliases refuses YAML whose documents expand, through aliases, beyond
// their budget (yamldoc.Budget). Text that does not parse passes: the
// reader that wants it reports the syntax error in its own words.
func checkAliases(data []byte) error {
	if !bytes.Contains(data, []byte("*")) {
		return nil // no alias
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	budget := yamldoc.Budget(len(data))
	for {
		var n yaml.Node
		if err := dec.Decode(&n); err != nil {
			return nil // io.EOF, or a syntax error
		}
		if err := yamldoc.Check(&n, budget); err != nil {
			return err
		}
	}
}

// maxKustomizationDepth bounds how deep local kustomizations may nest.
const maxKustomizationDepth = 100

// checkNoRemote walks the kustomization in dir and the local ones it
// reaches (resources and components that are directories), and refuses
// any reference kustomize would fetch over the network or clone with git,
// naming the file and the field. Nothing is fetched or run.
func checkNoRemote(k kustomizeFS, dir string) error {
	seen := map[string]bool{}
	var visit func(dir string, depth int) error
	visit = func(dir string, depth int) error {
		if seen[dir] || depth > maxKustomizationDepth {
			return nil // kustomize reports cycles itself
		}
		seen[dir] = true
		name := kustomizationFile(k.fsys, dir)
		if name == "" {
			return nil
		}
		file := path.Join(dir, name)
		data, err := k.readFile(file)
		if err != nil {
			var refused *refusedError
			if errors.As(err, &refused) {
				return fmt.Errorf("%s: %w", file, refused.err)
			}
			return nil // kustomize reports it
		}
		var kust map[string]any
		if err := yaml.NewDecoder(bytes.NewReader(data)).Decode(&kust); err != nil && !errors.Is(err, io.EOF) {
			return nil // kustomize reports the syntax error
		}
		var local []string
		for _, ref := range remoteFields(kust) {
			if isRemote(ref.value) {
				return fmt.Errorf("%s: %s %q is a remote resource, which lint does not fetch (--allow-remote fetches it)", file, ref.field, ref.value)
			}
			if ref.dir {
				local = append(local, ref.value)
			}
		}
		for _, l := range local {
			sub := path.Join(dir, l)
			if !strings.HasPrefix(sub, "../") && sub != ".." {
				if err := visit(sub, depth+1); err != nil {
					return err
				}
			}
		}
		return nil
	}
	return visit(dir, 0)
}

// kustRef is a string in a kustomization that kustomize loads.
type kustRef struct {
	field, value string
	dir          bool // may be a directory holding a kustomization
}

// remoteFields lists the strings of a kustomization that kustomize passes
// to its loader: each may be a URL or a git repository.
func remoteFields(kust map[string]any) []kustRef {
	var refs []kustRef
	list := func(field string, dir bool) {
		items, _ := kust[field].([]any)
		for i, it := range items {
			if s, ok := it.(string); ok {
				refs = append(refs, kustRef{fmt.Sprintf("%s[%d]", field, i), s, dir})
			}
		}
	}
	for _, f := range []string{"resources", "bases", "components"} {
		list(f, true)
	}
	for _, f := range []string{"crds", "configurations", "generators", "transformers", "validators", "patchesStrategicMerge"} {
		list(f, false)
	}
	for _, f := range []string{"patches", "patchesJson6902", "replacements"} {
		items, _ := kust[f].([]any)
		for i, it := range items {
			if m, ok := it.(map[string]any); ok {
				if s, ok := m["path"].(string); ok {
					refs = append(refs, kustRef{fmt.Sprintf("%s[%d].path", f, i), s, false})
				}
			}
		}
	}
	for _, f := range []string{"configMapGenerator", "secretGenerator"} {
		items, _ := kust[f].([]any)
		for i, it := range items {
			m, ok := it.(map[string]any)
			if !ok {
				continue
			}
			for _, sub := range []string{"files", "envs"} {
				vals, _ := m[sub].([]any)
				for j, v := range vals {
					if s, ok := v.(string); ok {
						if _, file, found := strings.Cut(s, "="); found && sub == "files" {
							s = file // key=path
						}
						refs = append(refs, kustRef{fmt.Sprintf("%s[%d].%s[%d]", f, i, sub, j), s, false})
					}
				}
			}
			if s, ok := m["env"].(string); ok {
				refs = append(refs, kustRef{fmt.Sprintf("%s[%d].env", f, i), s, false})
			}
		}
	}
	if m, ok := kust["openapi"].(map[string]any); ok {
		if s, ok := m["path"].(string); ok {
			refs = append(refs, kustRef{"openapi.path", s, false})
		}
	}
	if items, ok := kust["helmCharts"].([]any); ok {
		for i, it := range items {
			if m, ok := it.(map[string]any); ok {
				if s, ok := m["repo"].(string); ok {
					refs = append(refs, kustRef{fmt.Sprintf("helmCharts[%d].repo", i), s, false})
				}
			}
		}
	}
	return refs
}

// isRemote says whether kustomize would fetch s (an http(s) URL) or clone
// it with git: a URL of any scheme, scp-like user@host:path, a github.com
// path, with or without the git:: prefix. A superset of kustomize's own
// tests (api/internal/git/repospec.go, loader.IsRemoteFile): what is
// refused here may still be a local path that looks remote; it can be
// renamed, or linted with --allow-remote.
func isRemote(s string) bool {
	s = strings.TrimSpace(s)
	if strings.Contains(s, "\n") {
		return false // an inline patch or object
	}
	lower := strings.ToLower(s)
	lower = strings.TrimPrefix(lower, "git::")
	if strings.Contains(lower, "://") || strings.HasPrefix(lower, "github.com/") || strings.HasPrefix(lower, "github.com:") {
		return true
	}
	return scpLike(s)
}

// scpLike is git's user@host:path form (kustomize: a letter, then letters,
// digits or dashes, then @, then a host and a path).
func scpLike(s string) bool {
	user, rest, found := strings.Cut(s, "@")
	if !found || user == "" || !strings.ContainsAny(rest, ":/") {
		return false
	}
	for i, r := range user {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || !(r >= '0' && r <= '9' || r == '-')) {
			return false
		}
	}
	return true
}
