package elb

import "strings"

// This file finds AWS Elastic Load Balancing hostnames inside arbitrary
// strings (env var values, args, commands) and rewrites the known ones to
// other DNS names, leaving everything around them untouched.
//
// It runs on every string of every admitted pod, and almost none of those
// strings mention AWS at all, so the no-match path is a byte scan for the
// dots of "amazonaws.com" that never allocates. Only when that anchor is
// present is the surrounding text parsed.
//
// A hostname is recognised only as a whole "host run": a maximal run of the
// bytes a DNS name can contain, [A-Za-z0-9.-], delimited on both sides by any
// other byte or by the ends of the string. Anything that continues the name
// (".evil.com", "-x", a leading "foo.") means the run is not a load balancer
// hostname, and nothing in it is matched. Keeping both ends strict makes the
// matcher unambiguous: a run either is a load balancer hostname or it is not,
// so rewriting can never make a new hostname appear or an old one vanish.

const (
	// maxHostLen bounds a host run: 253 bytes is the DNS limit for a name
	// written without its trailing dot, plus one for that dot.
	maxHostLen = 254

	// maxLabels is the most labels a load balancer hostname has:
	// dualstack, AZ, name, region, elb, amazonaws, com, cn.
	maxLabels = 8

	// maxLabelLen is the DNS limit on one label.
	maxLabelLen = 63

	// anchor is the text every load balancer hostname contains; the scan
	// looks for it around each '.' before doing anything more expensive.
	anchor = "amazonaws"
)

// hostByte marks the bytes that may appear in a host run, so that the run
// boundaries can be found with one table lookup per byte.
var hostByte = func() (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	t['-'] = true
	t['.'] = true
	return t
}()

// Match is one AWS load balancer hostname found in a string.
type Match struct {
	Start, End int    // byte offsets of the whole matched hostname in the input (including any dualstack./AZ prefix and a trailing dot)
	Host       string // the matched text as written (s[Start:End])
	Key        string // canonical key: lower-case, no trailing dot, no dualstack./AZ prefix
}

// Find returns every AWS load balancer hostname in s, in order,
// non-overlapping. It lets callers inspect or report hostnames without
// rewriting; it returns nil (and allocates nothing) when there is none.
func Find(s string) []Match {
	var out []Match
	for i := 0; ; {
		start, end, ks, ke, ok := nextHost(s, i)
		if !ok {
			return out
		}
		out = append(out, Match{Start: start, End: end, Host: s[start:end], Key: strings.ToLower(s[ks:ke])})
		i = end
	}
}

// Canonical returns the canonical key for a single hostname (as found in a
// Service's status.loadBalancer.ingress[].hostname or a config map key) and
// whether it is an AWS load balancer hostname at all. It uses the same
// grammar as Find, so keys built from Services and keys found in pod strings
// compare equal. The whole of host must be the hostname: no
// scheme, port or surrounding space is accepted.
func Canonical(host string) (key string, ok bool) {
	ks, ke, ok := parseHost(host)
	if !ok {
		return "", false
	}
	return strings.ToLower(host[ks:ke]), true
}

// Replacement is one hostname Rewrite replaced, so the caller can report or
// annotate what it changed.
type Replacement struct {
	From string // matched text as written
	To   string // replacement
}

// Rewrite replaces every hostname whose Key the lookup knows with the
// lookup's name, keeping everything around it. It returns the new string,
// the rewrites made, and the canonical keys of ELB hostnames it found but the
// lookup did not know (each at most once, in order), so the caller can warn
// about load balancers it has no mapping for.
// A lookup answer with an empty name counts as unknown: a hostname is never
// rewritten to nothing.
// When s contains no AWS hostname it returns s itself and nil slices without
// allocating, because that is the case for nearly every string of a pod.
func Rewrite(s string, lookup func(key string) (name string, ok bool)) (out string, rewrites []Replacement, unknown []string) {
	var (
		b       strings.Builder
		last    int                 // end of the text already copied to b
		seen    map[string]struct{} // dedups unknown once it grows large
		written bool
	)
	for i := 0; ; {
		start, end, ks, ke, ok := nextHost(s, i)
		if !ok {
			break
		}
		i = end
		key := strings.ToLower(s[ks:ke])
		name, known := lookup(key)
		if !known || name == "" {
			unknown, seen = appendUnknown(unknown, seen, key)
			continue
		}
		if !written {
			written = true
			// Exact when this is the only rewrite, which is the usual case.
			b.Grow(len(s) - (end - start) + len(name))
			rewrites = make([]Replacement, 0, 1)
		}
		b.WriteString(s[last:start])
		b.WriteString(name)
		last = end
		rewrites = append(rewrites, Replacement{From: s[start:end], To: name})
	}
	if !written {
		return s, nil, unknown
	}
	b.WriteString(s[last:])
	return b.String(), rewrites, unknown
}

// appendUnknown appends key to list unless it is already there. A linear
// search is cheapest for the few keys a string normally holds; a map takes
// over for long lists so that a hostile string cannot make it quadratic.
func appendUnknown(list []string, seen map[string]struct{}, key string) ([]string, map[string]struct{}) {
	const linearMax = 16
	if seen != nil {
		if _, dup := seen[key]; dup {
			return list, seen
		}
		seen[key] = struct{}{}
		return append(list, key), seen
	}
	for _, k := range list {
		if k == key {
			return list, nil
		}
	}
	list = append(list, key)
	if len(list) > linearMax {
		seen = make(map[string]struct{}, 2*len(list))
		for _, k := range list {
			seen[k] = struct{}{}
		}
	}
	return list, seen
}

// nextHost finds the first load balancer hostname in s that starts at or
// after from, where from is 0 or the end of an earlier host run. It returns
// the bounds of the whole match and of its canonical part. Each byte of s is
// examined a bounded number of times, so scanning is linear in len(s).
func nextHost(s string, from int) (start, end, keyStart, keyEnd int, ok bool) {
	for i := from; ; {
		j := strings.IndexByte(s[i:], '.')
		if j < 0 {
			return 0, 0, 0, 0, false
		}
		dot := i + j
		if len(s)-dot < len(".com") {
			return 0, 0, 0, 0, false
		}
		i = dot + 1
		if dot < len(anchor) || !isAnchor(s, dot) {
			continue
		}
		// The anchor is in a host run: parse the whole run, then resume
		// after it whatever the outcome, since the run is all or nothing.
		rs := dot - len(anchor)
		for rs > 0 && hostByte[s[rs-1]] {
			rs--
		}
		re := dot + len(".com")
		for re < len(s) && hostByte[s[re]] {
			re++
		}
		if ks, ke, ok := parseHost(s[rs:re]); ok {
			return rs, re, rs + ks, rs + ke, true
		}
		i = re
	}
}

// isAnchor reports whether the '.' at s[dot] is the one in
// "amazonaws.com" (any case). The caller guarantees the bytes exist.
func isAnchor(s string, dot int) bool {
	return eqLower(s[dot-len(anchor):dot], anchor) && eqLower(s[dot+1:dot+4], "com")
}

// parseHost reports whether h, exactly, is an AWS load balancer hostname,
// and if so the bounds in h of its canonical part (the name without any
// dualstack./AZ prefix and trailing dot). Accepted, case-insensitively, with
// an optional trailing dot:
//
//	[dualstack.]<name>.<region>.elb.amazonaws.com[.cn]         Classic ELB, ALB
//	[dualstack.][<az>.]<name>.elb.<region>.amazonaws.com[.cn]  NLB
//
// <name> is a DNS label with an inner '-' (load balancer names are
// "<name>-<id>"), <region> looks like us-gov-west-1, <az> is the region plus
// one letter, and ".cn" goes with, and only with, a cn- region.
func parseHost(h string) (keyStart, keyEnd int, ok bool) {
	if len(h) == 0 || len(h) > maxHostLen {
		return 0, 0, false
	}
	end := len(h)
	if h[end-1] == '.' {
		end--
	}
	if end == 0 || end > maxHostLen-1 {
		return 0, 0, false
	}

	var (
		labels [maxLabels]string
		starts [maxLabels]int
		n      int
	)
	for i, ls := 0, 0; i <= end; i++ {
		if i < end && h[i] != '.' {
			if !hostByte[h[i]] {
				return 0, 0, false
			}
			continue
		}
		if i == ls || i-ls > maxLabelLen || n == maxLabels {
			return 0, 0, false
		}
		labels[n], starts[n] = h[ls:i], ls
		n++
		ls = i + 1
	}

	// Walk from the right: [cn] com amazonaws, then the form-specific part.
	i := n - 1
	china := eqLower(labels[i], "cn")
	if china {
		i--
	}
	// Below "com" there must be at least amazonaws, elb, region and name.
	if i < 4 || !eqLower(labels[i], "com") || !eqLower(labels[i-1], anchor) {
		return 0, 0, false
	}
	i -= 2
	var (
		region string
		nlb    bool
	)
	switch {
	case eqLower(labels[i], "elb"):
		region = labels[i-1]
	case eqLower(labels[i-1], "elb"):
		region, nlb = labels[i], true
	default:
		return 0, 0, false
	}
	name := i - 2
	if !isRegion(region) || china != isChinaRegion(region) || !isName(labels[name]) {
		return 0, 0, false
	}
	prefix := labels[:name]
	if len(prefix) > 0 && eqLower(prefix[0], "dualstack") {
		prefix = prefix[1:]
	}
	if len(prefix) == 1 && nlb && isAZ(prefix[0], region) {
		prefix = prefix[1:]
	}
	if len(prefix) != 0 {
		return 0, 0, false
	}
	return starts[name], end, true
}

// isName reports whether label can be a load balancer name: "<name>-<id>",
// so it has a '-' that neither starts nor ends it. The caller has checked
// the characters and the length.
func isName(label string) bool {
	return label[0] != '-' && label[len(label)-1] != '-' && strings.IndexByte(label, '-') > 0
}

// isRegion reports whether r looks like an AWS region name: two or more
// groups of at least two letters, then a group of one or two digits, all
// joined by '-' (us-east-1, us-gov-west-1, ap-southeast-4).
func isRegion(r string) bool {
	k := strings.LastIndexByte(r, '-')
	if k < 0 || len(r)-k-1 < 1 || len(r)-k-1 > 2 {
		return false
	}
	for i := k + 1; i < len(r); i++ {
		if r[i] < '0' || r[i] > '9' {
			return false
		}
	}
	groups, run := 0, 0
	for i := 0; i < k; i++ {
		switch {
		case isLetter(r[i]):
			run++
		case r[i] == '-':
			if run < 2 {
				return false
			}
			groups, run = groups+1, 0
		default:
			return false
		}
	}
	return run >= 2 && groups >= 1
}

// isChinaRegion reports whether the (valid) region r is in the aws-cn
// partition, whose hostnames end in ".amazonaws.com.cn".
func isChinaRegion(r string) bool {
	return len(r) > 3 && r[0]|0x20 == 'c' && r[1]|0x20 == 'n' && r[2] == '-'
}

// isAZ reports whether label names an availability zone of region: the
// region followed by one letter (us-west-2a).
func isAZ(label, region string) bool {
	return len(label) == len(region)+1 &&
		strings.EqualFold(label[:len(region)], region) &&
		isLetter(label[len(region)])
}

func isLetter(c byte) bool {
	c |= 0x20
	return 'a' <= c && c <= 'z'
}

// eqLower reports whether s equals lower, ignoring ASCII case. lower must be
// lower-case letters only: then c|0x20 == lower[i] holds exactly for the
// upper- and lower-case forms of lower[i] and never for any other byte.
func eqLower(s, lower string) bool {
	if len(s) != len(lower) {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i]|0x20 != lower[i] {
			return false
		}
	}
	return true
}
