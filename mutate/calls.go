package mutate

import (
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/util/validation"
)

// AnnotationCalls declares the services a workload calls, so that
// inzone-xds sends its sidecar only their clusters and routes: a
// comma-separated list of DDSD service names ("orders", rendered with the
// config's nameTemplate in the pod's namespace, as the pod's own name is)
// or full DDSD names (any entry with a dot, taken as written), or "*" for
// every service, which is also what no annotation means.
const AnnotationCalls = "inzone.io/calls"

// Bounds of AnnotationCalls: the value comes from a tenant, and every name
// in it costs inzone-xds a cluster in that identity's view.
const (
	MaxCalls      = 256
	MaxCallsBytes = 16 << 10
)

// CallsAll is the AnnotationCalls value meaning every service.
const CallsAll = "*"

// Callees is the pod's AnnotationCalls as DDSD names, sorted and without
// duplicates; all is true when the pod calls every service (the annotation
// is absent or "*"). err is an *AnnotationError naming the annotation when
// the value does not parse; the webhook refuses such a pod.
func (e *Engine) Callees(pod *corev1.Pod) (names []string, all bool, err error) {
	v, ok := pod.Annotations[AnnotationCalls]
	if !ok {
		return nil, true, nil
	}
	entries, all, err := ParseCalls(v)
	if err != nil || all {
		return nil, all, err
	}
	names = make([]string, 0, len(entries))
	for _, s := range entries {
		if !strings.Contains(s, ".") {
			s = e.DDSDName(s, pod.Namespace)
		}
		names = append(names, s)
	}
	slices.Sort(names)
	return slices.Compact(names), false, nil
}

// ParseCalls splits an AnnotationCalls value into its entries, lower-cased
// and trimmed, in the order written; all is true for "*". An entry is a DNS
// label (a service name) or a DNS subdomain (a full DDSD name).
func ParseCalls(v string) (entries []string, all bool, err error) {
	bad := func(reason string) error {
		return &AnnotationError{Annotation: AnnotationCalls, Value: clip(v, 120), Reason: reason}
	}
	if len(v) > MaxCallsBytes {
		return nil, false, bad("is " + strconv.Itoa(len(v)) + " bytes long (at most " + strconv.Itoa(MaxCallsBytes) + ")")
	}
	if strings.TrimSpace(v) == CallsAll {
		return nil, true, nil
	}
	parts := strings.Split(v, ",")
	if len(parts) > MaxCalls {
		return nil, false, bad("lists " + strconv.Itoa(len(parts)) + " names (at most " + strconv.Itoa(MaxCalls) + ")")
	}
	entries = make([]string, 0, len(parts))
	for i, p := range parts {
		p = strings.ToLower(strings.TrimSpace(p))
		where := "entry " + strconv.Itoa(i+1) + " " + strconv.Quote(clip(p, 60))
		switch {
		case p == "":
			return nil, false, bad("entry " + strconv.Itoa(i+1) + " is empty: list service names separated by commas, or " + CallsAll + " for every service")
		case p == CallsAll:
			return nil, false, bad(CallsAll + " must be the whole value, not one of several names")
		case strings.Contains(p, "."):
			if msgs := validation.IsDNS1123Subdomain(p); len(msgs) > 0 {
				return nil, false, bad(where + " is not a DDSD name: " + strings.Join(msgs, "; "))
			}
		default:
			if msgs := validation.IsDNS1123Label(p); len(msgs) > 0 {
				return nil, false, bad(where + " is not a service name: " + strings.Join(msgs, "; "))
			}
		}
		entries = append(entries, p)
	}
	return entries, false, nil
}

// clip keeps an error message short however long the value.
func clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
