package lint

import (
	"bytes"
	"fmt"
	"strings"

	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/inzone-io/inzone/lint/glob"
	"github.com/inzone-io/inzone/lint/rego"
	"github.com/inzone-io/inzone/report"
)

// ConfigFile is the name `inzone lint` looks for in the current directory.
const ConfigFile = ".inzone.yaml"

// Config is the lint configuration of a repository (.inzone.yaml):
//
//	failOn: warning              # default error
//	ignore:
//	  - paths: ["vendor/**"]     # no rules: these files are not linted at all
//	  - rules: [service-no-topology-aware-routing]   # no paths: nowhere
//	  - rules: [envoy-strict-dns]
//	    paths: ["examples/**"]
//	severity:                    # override a rule's severity
//	  workload-no-zone-spread: error
type Config struct {
	FailOn   report.Severity            `json:"failOn,omitempty"`
	Ignore   []IgnoreEntry              `json:"ignore,omitempty"`
	Severity map[string]report.Severity `json:"severity,omitempty"`
}

// IgnoreEntry suppresses rules on paths. Globs are slash-separated and
// relative to the repository root; * and ? stay within a path segment, **
// spans segments.
type IgnoreEntry struct {
	Rules []string `json:"rules,omitempty"`
	Paths []string `json:"paths,omitempty"`
	paths glob.Set
}

// LoadConfig parses and validates .inzone.yaml content. Rule IDs are checked
// against the engine's rules, so a typo does not silently ignore nothing.
func LoadConfig(data []byte, source string, e *rego.Engine) (*Config, error) {
	c := &Config{}
	if len(bytes.TrimSpace(data)) > 0 {
		js, err := yaml.YAMLToJSON(data)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		strict, err := sigsjson.UnmarshalStrict(js, c, sigsjson.DisallowUnknownFields, sigsjson.DisallowDuplicateFields)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", source, err)
		}
		if len(strict) > 0 {
			return nil, fmt.Errorf("%s: %v", source, strict[0])
		}
	}
	var errs []string
	if c.FailOn != "" {
		if _, err := report.ParseSeverity(string(c.FailOn)); err != nil {
			errs = append(errs, "failOn: "+err.Error())
		}
	}
	known := func(id string) bool {
		if e == nil {
			return true
		}
		_, ok := e.Rule(id)
		return ok
	}
	for i, ig := range c.Ignore {
		if len(ig.Rules) == 0 && len(ig.Paths) == 0 {
			errs = append(errs, fmt.Sprintf("ignore[%d]: needs rules, paths or both", i))
		}
		for j, id := range ig.Rules {
			if !known(id) {
				errs = append(errs, fmt.Sprintf("ignore[%d].rules[%d]: unknown rule %q", i, j, id))
			}
		}
		gs, err := glob.Compile(ig.Paths)
		if err != nil {
			errs = append(errs, fmt.Sprintf("ignore[%d].paths: %v", i, err))
		}
		c.Ignore[i].paths = gs
	}
	for id, s := range c.Severity {
		if !known(id) {
			errs = append(errs, fmt.Sprintf("severity[%s]: unknown rule", id))
		}
		if _, err := report.ParseSeverity(string(s)); err != nil {
			errs = append(errs, fmt.Sprintf("severity[%s]: %v", id, err))
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("%s:\n  %s", source, strings.Join(errs, "\n  "))
	}
	return c, nil
}

// ignoresFile: an entry with paths and no rules skips the file entirely.
func (c *Config) ignoresFile(file string) bool {
	for _, ig := range c.Ignore {
		if len(ig.Rules) == 0 && ig.paths.Match(file) {
			return true
		}
	}
	return false
}

// ignoresRule: an entry naming the rule, with no paths or a matching one.
func (c *Config) ignoresRule(rule, file string) bool {
	for _, ig := range c.Ignore {
		if len(ig.Rules) == 0 {
			continue
		}
		for _, id := range ig.Rules {
			if id == rule && (len(ig.Paths) == 0 || ig.paths.Match(file)) {
				return true
			}
		}
	}
	return false
}

// severity applies the config's override for a rule.
func (c *Config) severity(r *report.Rule, def report.Severity) report.Severity {
	if s, ok := c.Severity[r.ID]; ok {
		return s
	}
	return def
}
