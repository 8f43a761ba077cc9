package mutate

import (
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// addZoneSpread adds a zone topology spread constraint, because Envoy's
// zone-aware routing keeps traffic local only in proportion to how evenly the
// pods are spread over zones.
//
// A constraint without a labelSelector counts no pods and does nothing, so
// the selector comes from the pod's identifying labels; matchLabelKeys
// (pod-template-hash by default) makes each rollout spread on its own.
func (e *Engine) addZoneSpread(st *podState) error {
	pod := st.pod
	for _, c := range pod.Spec.TopologySpreadConstraints {
		if c.TopologyKey == e.cfg.ZoneLabel {
			return nil // inzone's or the user's: either way, leave it alone
		}
	}
	for _, o := range pod.OwnerReferences {
		if o.Kind == "DaemonSet" {
			st.skip(MutationSpread, SkipDaemonSet, false, "zone spread skipped: pod is owned by DaemonSet %s, which places one pod per node", o.Name)
			return nil
		}
	}
	selector := e.identifyingLabels(pod)
	if len(selector) == 0 {
		st.skip(MutationSpread, SkipNoIdentifyingLabels, true,
			"zone spread not added: the pod has none of the identifying labels %s, and a constraint without a selector would do nothing",
			strings.Join(e.cfg.ServiceLabels, ", "))
		return nil
	}
	c := corev1.TopologySpreadConstraint{
		MaxSkew:           e.cfg.Spread.MaxSkew,
		TopologyKey:       e.cfg.ZoneLabel,
		WhenUnsatisfiable: e.cfg.Spread.WhenUnsatisfiable,
		LabelSelector:     &metav1.LabelSelector{MatchLabels: selector},
		MatchLabelKeys:    e.cfg.Spread.MatchLabelKeys,
	}
	if len(pod.Spec.TopologySpreadConstraints) == 0 {
		st.add("/spec/topologySpreadConstraints", []corev1.TopologySpreadConstraint{c})
	} else {
		st.add("/spec/topologySpreadConstraints/-", c)
	}
	st.change(MutationSpread, "topologySpreadConstraint on %s, maxSkew %d, %s, selector %s",
		e.cfg.ZoneLabel, c.MaxSkew, c.WhenUnsatisfiable, formatLabels(selector))
	return nil
}

// identifyingLabels are the pod's labels among the configured service label keys.
func (e *Engine) identifyingLabels(pod *corev1.Pod) map[string]string {
	var sel map[string]string
	for _, k := range e.cfg.ServiceLabels {
		if v, ok := pod.Labels[k]; ok && v != "" {
			if sel == nil {
				sel = make(map[string]string, len(e.cfg.ServiceLabels))
			}
			sel[k] = v
		}
	}
	return sel
}

func formatLabels(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(k + "=" + m[k])
	}
	return b.String()
}
