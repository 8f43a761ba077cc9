package inject

import (
	"regexp"
	"strings"
)

// splice applies the line changes between before (the encoder's rendering
// of the original document) and after (its rendering of the edited one) to
// orig, the original text, so that lines the edit did not touch keep their
// exact bytes. Lines of before are matched to orig ignoring indentation, and
// each inserted line is shifted by the indentation difference of a sibling
// (or else its parent) line, so it fits a document indented differently
// from the encoder. ok is false when the change cannot be placed; the caller
// also checks that the result means what after means.
func splice(orig, before, after []byte) ([]byte, bool) {
	O, A, B := lines(orig), lines(before), lines(after)
	ab, ok := lcs(len(A), len(B), func(i, j int) bool { return A[i] == B[j] })
	if !ok {
		return nil, false
	}
	ao, ok := lcs(len(A), len(O), func(i, j int) bool { return sameContent(A[i], O[j]) })
	if !ok {
		return nil, false
	}
	delta := func(i int) int { return indentOf(O[ao[i]]) - indentOf(A[i]) }

	type edit struct {
		from, to int // orig lines [from, to) are replaced
		lines    []string
	}
	var edits []edit
	// Hunks: before lines [a0, a1) become after lines [b0, b1) between matches.
	a, b := 0, 0
	for {
		for a < len(A) && ab[a] == b {
			a, b = a+1, b+1
		}
		if a == len(A) && b == len(B) {
			break
		}
		a0, b0 := a, b
		for a < len(A) && ab[a] < 0 {
			a++
		}
		a1, b1 := a, len(B)
		if a < len(A) {
			b1 = ab[a]
		}
		b = b1
		var e edit
		switch {
		case a0 < a1:
			if ao[a0] < 0 || ao[a1-1] < 0 {
				return nil, false
			}
			e.from, e.to = ao[a0], ao[a1-1]+1
		case a0 > 0 && ao[a0-1] >= 0:
			e.from, e.to = ao[a0-1]+1, ao[a0-1]+1
		case a0 < len(A) && ao[a0] >= 0:
			e.from, e.to = ao[a0], ao[a0]
		default:
			return nil, false
		}
		headIndent, shift := -1, 0
		for _, l := range B[b0:b1] {
			if strings.TrimSpace(l) == "" {
				e.lines = append(e.lines, l)
				continue
			}
			k := indentOf(l)
			if headIndent < 0 || k <= headIndent {
				headIndent, shift = k, contextShift(A, ao, a0, a1, k, isItem(l), delta)
			}
			nl, ok := reindent(l, shift)
			if !ok {
				return nil, false
			}
			e.lines = append(e.lines, nl)
		}
		edits = append(edits, e)
	}
	var out []string
	pos := 0
	for _, e := range edits {
		if e.from < pos {
			return nil, false
		}
		out = append(out, O[pos:e.from]...)
		out = append(out, e.lines...)
		pos = e.to
	}
	out = append(out, O[pos:]...)
	s := strings.Join(out, "\n")
	if len(orig) > 0 && orig[len(orig)-1] == '\n' || len(orig) == 0 {
		s += "\n"
	}
	return []byte(s), true
}

// contextShift finds the indentation shift for a line inserted between
// before lines a0 and a1 (a0..a1 being replaced) at indentation k: that of
// the nearest sibling (same indentation, both sequence items or both not),
// else of the parent.
func contextShift(A []string, ao []int, a0, a1, k int, item bool, delta func(int) int) int {
	usable := func(i int) bool {
		t := strings.TrimSpace(A[i])
		return ao[i] >= 0 && t != "" && t[0] != '#'
	}
	// parentOf reports a line that ends the search: indented less, or a key
	// at the indentation of a sequence item (a compact sequence's key).
	parentOf := func(i int) bool {
		ki := indentOf(A[i])
		return ki < k || ki == k && item && !isItem(A[i])
	}
	sibling := func(i int) bool {
		return indentOf(A[i]) == k && isItem(A[i]) == item
	}
	parent := -1
	for i := a1 - 1; i >= 0; i-- {
		if !usable(i) {
			continue
		}
		if sibling(i) {
			return delta(i)
		}
		if parentOf(i) {
			parent = i
			break
		}
	}
	for i := a1; i < len(A); i++ {
		if !usable(i) {
			continue
		}
		if sibling(i) {
			return delta(i)
		}
		if parentOf(i) {
			break
		}
	}
	if parent >= 0 {
		return delta(parent)
	}
	return 0
}

// itemRE is a sequence item's indicator with the spaces after it.
var itemRE = regexp.MustCompile(`^-[ \t]+`)

// sameContent compares lines ignoring indentation, trailing spaces and the
// spacing after a sequence item's "-" ("-   name: x" is "- name: x").
func sameContent(a, b string) bool {
	a, b = strings.TrimSpace(a), strings.TrimSpace(b)
	if a == b {
		return true
	}
	return strings.HasPrefix(a, "-") && strings.HasPrefix(b, "-") &&
		itemRE.ReplaceAllString(a, "- ") == itemRE.ReplaceAllString(b, "- ")
}

func lines(b []byte) []string {
	s := strings.TrimSuffix(string(b), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func indentOf(l string) int { return len(l) - len(strings.TrimLeft(l, " \t")) }

func isItem(l string) bool {
	t := strings.TrimSpace(l)
	return t == "-" || strings.HasPrefix(t, "- ")
}

func reindent(l string, shift int) (string, bool) {
	switch {
	case shift > 0:
		return strings.Repeat(" ", shift) + l, true
	case shift < 0:
		if indentOf(l) < -shift {
			return "", false
		}
		return l[-shift:], true
	}
	return l, true
}
