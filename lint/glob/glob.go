// Package glob matches slash-separated paths against the globs of
// --ignore and .inzone.yaml: * and ? stay within one path segment, **
// spans segments. It does no I/O.
package glob

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// Bounds on one glob. A path is at most 4096 bytes (PATH_MAX). The time
// to match a path grows with the number of stars (* and **): a glob of a
// thousand stars takes 15 ms per path, one of a million minutes to compile,
// and a real one has a few.
const (
	MaxLen   = 4096
	MaxStars = 16
)

// Set is a list of compiled globs; the zero Set matches nothing.
type Set []*regexp.Regexp

// Compile compiles globs; an error names the glob.
func Compile(globs []string) (Set, error) {
	out := make(Set, 0, len(globs))
	for _, g := range globs {
		if len(g) > MaxLen {
			return nil, fmt.Errorf("bad glob %q...: %d bytes, over the %d-byte limit", g[:32], len(g), MaxLen)
		}
		re, err := toRegexp(g)
		if err != nil {
			return nil, fmt.Errorf("bad glob %q: %w", g, err)
		}
		out = append(out, re)
	}
	return out, nil
}

// Match says whether name matches any glob in s.
func (s Set) Match(name string) bool {
	for _, re := range s {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

func toRegexp(glob string) (*regexp.Regexp, error) {
	if glob == "" {
		return nil, errors.New("empty glob")
	}
	var b strings.Builder
	b.WriteString("^")
	stars := 0
	for i := 0; i < len(glob); i++ {
		c := glob[i]
		if c == '*' {
			if stars++; stars > MaxStars {
				return nil, fmt.Errorf("more than %d stars", MaxStars)
			}
		}
		switch {
		case c == '*' && i+1 < len(glob) && glob[i+1] == '*':
			i++
			if i+1 < len(glob) && glob[i+1] == '/' {
				i++
				b.WriteString("(?:.*/)?") // **/ matches zero or more directories
			} else {
				b.WriteString(".*")
			}
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.Compile(b.String())
}
