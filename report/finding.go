package report

import "fmt"

// Severity of a finding.
type Severity string

// Severities, most severe first.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Rank orders severities: error 3, warning 2, info 1, unknown 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityError:
		return 3
	case SeverityWarning:
		return 2
	case SeverityInfo:
		return 1
	}
	return 0
}

// ParseSeverity accepts error, warning or info.
func ParseSeverity(s string) (Severity, error) {
	if v := Severity(s); v.Rank() > 0 {
		return v, nil
	}
	return "", fmt.Errorf("severity %q: must be error, warning or info", s)
}

// ObjectRef names the object a finding is about. For an Envoy config the
// kind is EnvoyConfig and the name the file or ConfigMap key.
type ObjectRef struct {
	APIVersion string `json:"apiVersion,omitempty"`
	Kind       string `json:"kind,omitempty"`
	Namespace  string `json:"namespace,omitempty"`
	Name       string `json:"name,omitempty"`
}

// QualifiedName is namespace/name, or name for a cluster-scoped object.
func (r ObjectRef) QualifiedName() string {
	if r.Namespace == "" {
		return r.Name
	}
	return r.Namespace + "/" + r.Name
}

// Finding is one thing that defeats zone locality.
type Finding struct {
	Rule     string    `json:"rule"`
	Severity Severity  `json:"severity"`
	File     string    `json:"file"`
	Line     int       `json:"line"`
	Column   int       `json:"column"`
	Object   ObjectRef `json:"object"`
	Message  string    `json:"message"`
	Hint     string    `json:"hint"`
}

// FileError is a file that could not be read or parsed, with the position
// of the problem when known. It is reported, never skipped silently.
type FileError struct {
	File    string `json:"file"`
	Line    int    `json:"line,omitempty"`
	Column  int    `json:"column,omitempty"`
	Message string `json:"message"`
}

func (e FileError) Error() string {
	switch {
	case e.Line > 0:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Message)
	default:
		return e.File + ": " + e.Message
	}
}
