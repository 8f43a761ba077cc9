package yamldoc

import "testing"

func TestResolvedTagIsLibrarys(t *testing.T) {
	for _, v := range []string{
		"", "a", "string", "true", "True", "TRUE", "tRue", "false", "False", "FALSE", "t", "f", "yes", "y", "Y", "no", "n", "N",
		"on", "On", "off", "OFF", "null", "Null", "NULL", "nULL", "~", "~x", "<<", "<", "0", "1", "-1", "+1", "007", "0x1F", "0o17",
		"0b101", "1_000", "1.5", "-.5", ".5", "1e3", "1.", ".inf", ".Inf", "-.INF", "+.inf", ".nan", ".NaN", ".", "-", "+", "2001-12-14",
		"2001-12-14T21:59:43.10-05:00", "12:30", "1:20", "9223372036854775808", "-9223372036854775809", "0.1.2", "1a", "é", "NaN", "Infinity",
	} {
		if got, want := resolvedTag(v), libraryTag(v); got != want {
			t.Errorf("resolvedTag(%q) = %s, the library's %s", v, got, want)
		}
	}
}
