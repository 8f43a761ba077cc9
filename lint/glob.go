package lint

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

// globSet is a list of compiled globs: * and ? stay within one path
// segment, ** spans segments.
type globSet []*regexp.Regexp

func compileGlobs(globs []string) (globSet, error) {
	out := make(globSet, 0, len(globs))
	for _, g := range globs {
		re, err := globRegexp(g)
		if err != nil {
			return nil, fmt.Errorf("bad glob %q: %w", g, err)
		}
		out = append(out, re)
	}
	return out, nil
}

func (s globSet) match(name string) bool {
	for _, re := range s {
		if re.MatchString(name) {
			return true
		}
	}
	return false
}

func globRegexp(glob string) (*regexp.Regexp, error) {
	if glob == "" {
		return nil, errors.New("empty glob")
	}
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(glob); i++ {
		c := glob[i]
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
