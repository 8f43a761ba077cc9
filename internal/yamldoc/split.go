package yamldoc

import "bytes"

// Segment is one document's text in a stream, and the 0-based line of the
// stream it starts on.
type Segment struct {
	Text []byte
	Line int
}

// Split cuts data into the texts of its documents, which join back into
// data: a "---" line starts one (the line is the document's), and a "..."
// line ends one (the line too). The YAML spec forbids either marker at the start of a line inside
// a document's content (they end block scalars, and a quoted or flow
// scalar cannot go on past them), so the cut is where the documents end.
// Text before the first "---" (comments, or a bare document) is a segment
// of its own.
//
// A stream with directives ("%YAML", "%TAG", which belong to the document
// after them), or with line breaks other than LF and CR LF (positions
// count them, the cut does not) is left whole, one segment that may hold
// several documents.
func Split(data []byte) []Segment {
	if !splittable(data) {
		return []Segment{{Text: data}}
	}
	return SplitAtMarkers(data)
}

// SplitAtMarkers is Split for a reader that keeps each segment's bytes and
// reads each on its own, whatever the stream holds (inject): it cuts a
// stream with directives at its marker lines too, where a directive stands
// in a segment apart from the document it belongs to, and counts lines by
// their LF alone.
func SplitAtMarkers(data []byte) []Segment {
	var segs []Segment
	start, startLine := 0, 0
	cut := func(end int) {
		if end > start {
			segs = append(segs, Segment{Text: data[start:end], Line: startLine})
			startLine += bytes.Count(data[start:end], []byte("\n"))
		}
		start = end
	}
	// The candidates: the first line, and each line after a "\n" that
	// starts with "---" or "...", each kind found a stretch of text at a
	// time (and looked for again only once passed: a stream without "..."
	// is searched for it once).
	dash, dots := -1, -1 // the next candidate of each kind, once looked for
	next := func(at int, pattern string, cached int) int {
		if cached >= at || cached == len(data) {
			return cached
		}
		if k := bytes.Index(data[at-1:], []byte(pattern)); k >= 0 {
			return at + k
		}
		return len(data)
	}
	for i := 0; i < len(data); {
		if i > 0 {
			dash, dots = next(i, "\n---", dash), next(i, "\n...", dots)
			if i = min(dash, dots); i == len(data) {
				break
			}
		}
		end := lineEnd(data, i)
		l := bytes.TrimSuffix(data[i:end], []byte("\r"))
		switch {
		case IsMarker(l, '-'):
			cut(i)
		case IsMarker(l, '.'):
			cut(min(end+1, len(data)))
		}
		i = end + 1
	}
	cut(len(data))
	return segs
}

// splittable says whether split may cut data at its marker lines: no line
// starts with a directive's "%", and every line break is LF or CR LF.
func splittable(data []byte) bool {
	if len(data) > 0 && data[0] == '%' || bytes.Contains(data, []byte("\n%")) {
		return false
	}
	for i := bytes.IndexByte(data, '\r'); i >= 0; {
		if i+1 == len(data) || data[i+1] != '\n' {
			return false
		}
		j := bytes.IndexByte(data[i+1:], '\r')
		if j < 0 {
			break
		}
		i += 1 + j
	}
	return !bytes.Contains(data, []byte("\u0085")) && !bytes.Contains(data, []byte("\u2028")) && !bytes.Contains(data, []byte("\u2029"))
}
