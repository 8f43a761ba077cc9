package mutate

import (
	"strconv"

	corev1 "k8s.io/api/core/v1"
)

// zoneEnvVar returns the zone env var for pod and, when it is nil, why.
//
// The pod is not scheduled at admission, so its zone is not known yet. A pod
// pinned to one zone gets that zone literally. Otherwise, with source
// pod-label, the downward API reads the pod's own zone label, which the API
// server's PodTopologyLabels admission copies from the node at binding, before
// any container starts. With source pinned-only (clusters without that
// admission plugin) there is no honest value, so there is none.
func (e *Engine) zoneEnvVar(pod *corev1.Pod) (*corev1.EnvVar, string) {
	name := e.cfg.ZoneEnv.Name
	if z, ok := pinnedZone(pod, e.cfg.ZoneLabel); ok {
		return &corev1.EnvVar{Name: name, Value: z}, ""
	}
	if e.cfg.ZoneEnv.Source == ZoneSourcePodLabel {
		return &corev1.EnvVar{Name: name, ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{APIVersion: "v1", FieldPath: "metadata.labels['" + e.cfg.ZoneLabel + "']"},
		}}, ""
	}
	return nil, "the pod is not pinned to one zone and zoneEnv.source is pinned-only, so its zone cannot be known at admission"
}

// pinnedZone returns the single zone a pod can run in, from its nodeSelector
// or from required node affinity whose every term allows exactly that zone.
func pinnedZone(pod *corev1.Pod, zoneLabel string) (string, bool) {
	if z, ok := pod.Spec.NodeSelector[zoneLabel]; ok && z != "" {
		return z, true
	}
	a := pod.Spec.Affinity
	if a == nil || a.NodeAffinity == nil || a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution == nil {
		return "", false
	}
	terms := a.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms
	zone := ""
	for _, t := range terms {
		z := termZone(t, zoneLabel)
		if z == "" || (zone != "" && z != zone) {
			return "", false // this term (ORed with the others) allows another zone
		}
		zone = z
	}
	return zone, zone != ""
}

// termZone is the one zone a node selector term allows, or "".
func termZone(t corev1.NodeSelectorTerm, zoneLabel string) string {
	for _, r := range t.MatchExpressions {
		if r.Key == zoneLabel && r.Operator == corev1.NodeSelectorOpIn && len(r.Values) == 1 {
			return r.Values[0]
		}
	}
	return ""
}

// addZoneEnv gives every app container the zone env var. A container that
// already has a variable of that name keeps it: either inzone put it there
// or the user set it on purpose.
func (e *Engine) addZoneEnv(st *podState) error {
	if st.zone == nil {
		st.skip(MutationZoneEnv, SkipZoneUnknown, true, "zone env not set: %s", st.zoneNote)
		return nil
	}
	for _, list := range appContainers(st.pod) {
		for i := range list.containers {
			c := &list.containers[i]
			if hasEnv(c, st.zone.Name) {
				continue
			}
			st.addEnv(list.path+"/"+strconv.Itoa(i), c, *st.zone)
			st.change(MutationZoneEnv, "container %s: env %s", c.Name, st.zone.Name)
		}
	}
	return nil
}

func hasEnv(c *corev1.Container, name string) bool {
	for i := range c.Env {
		if c.Env[i].Name == name {
			return true
		}
	}
	return false
}
