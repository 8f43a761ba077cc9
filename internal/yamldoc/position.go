package yamldoc

import (
	"bytes"
	"regexp"
	"strconv"
	"strings"
)

// lineRE finds the line number in the library's error messages.
var lineRE = regexp.MustCompile(`line (\d+)`)

// ErrorLine places an error of the library's reading data (or of Each's)
// on the 1-based line a person sees, and returns that line (0 when the
// error names none) and the message with the line so numbered.
//
// The library reports parser errors (the "did not find expected ..."
// family) at the 0-based line of the construct they are in, and scanner
// errors at the 1-based line (its decode.go, parser.fail); the parser's are
// moved to 1-based. A problem found at the end of the stream is put on the
// last line.
func ErrorLine(err error, data []byte) (line int, msg string) {
	msg = err.Error()
	m := lineRE.FindStringSubmatch(msg)
	if m == nil {
		return 0, msg
	}
	line, _ = strconv.Atoi(m[1])
	if strings.Contains(msg, "did not find expected") {
		line++
	}
	line = min(line, LastLine(data))
	return line, strings.Replace(msg, "line "+m[1], "line "+strconv.Itoa(line), 1)
}

// LastLine is the number of data's last line with content, counting line
// breaks as YAML does, as the library's positions do: CR LF, CR, LF, NEL,
// LS and PS.
func LastLine(data []byte) int {
	line, last := 1, 1
	for i := 0; i < len(data); i++ {
		n := lineBreak(data[i:])
		if n == 0 {
			last = line
			continue
		}
		line++
		i += n - 1
	}
	return last
}

// lineBreak is the length of the line break b starts with, 0 for none.
func lineBreak(b []byte) int {
	switch {
	case b[0] == '\r' && len(b) > 1 && b[1] == '\n':
		return 2
	case b[0] == '\r' || b[0] == '\n':
		return 1
	case bytes.HasPrefix(b, []byte("\u0085")):
		return 2
	case bytes.HasPrefix(b, []byte("\u2028")), bytes.HasPrefix(b, []byte("\u2029")):
		return 3
	}
	return 0
}
