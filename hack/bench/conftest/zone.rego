# The inzone rules written for conftest, to compare whole runs on the same
# corpus (hack/bench-lint.sh). Same checks, conftest's input conventions.
package main

import rego.v1

_workload_kinds := {"Pod", "Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob"}

_pod_spec := input.spec if input.kind == "Pod"

_pod_spec := input.spec.template.spec if input.kind in {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job"}

_pod_spec := input.spec.jobTemplate.spec.template.spec if input.kind == "CronJob"

deny contains msg if {
	input.kind == "Service"
	input.spec.type in {"LoadBalancer", "NodePort"}
	object.get(input.spec, "externalTrafficPolicy", "Cluster") == "Cluster"
	msg := sprintf("Service %s: externalTrafficPolicy is Cluster", [input.metadata.name])
}

_clusters contains c if some c in input.static_resources.clusters

_clusters contains c if some c in input.resources

deny contains msg if {
	some c in _clusters
	upper(c.type) in {"STRICT_DNS", "LOGICAL_DNS"}
	msg := sprintf("cluster %s: %s", [c.name, c.type])
}

deny contains msg if {
	input.static_resources
	not input.cluster_manager.local_cluster_name
	msg := "bootstrap without local_cluster_name"
}

deny contains msg if {
	input.static_resources
	not input.node.locality.zone
	msg := "bootstrap without node.locality.zone"
}

deny contains msg if {
	input.kind in {"Deployment", "StatefulSet"}
	input.spec.replicas > 1
	not _zone_constraint
	msg := sprintf("%s %s: no zone spread", [input.kind, input.metadata.name])
}

_zone_constraint if {
	some c in _pod_spec.topologySpreadConstraints
	c.topologyKey == "topology.kubernetes.io/zone"
}

deny contains msg if {
	input.kind in _workload_kinds
	some c in array.concat(object.get(_pod_spec, "containers", []), object.get(_pod_spec, "initContainers", []))
	some e in object.get(c, "env", [])
	regex.match(`[a-z0-9-]+\.[a-z0-9-]+\.elb\.amazonaws\.com|\.elb\.[a-z0-9-]+\.amazonaws\.com`, lower(object.get(e, "value", "")))
	msg := sprintf("container %s env %s: ELB hostname", [c.name, e.name])
}

deny contains msg if {
	input.kind == "ServiceEntry"
	input.spec.resolution == "DNS"
	msg := sprintf("ServiceEntry %s: resolution DNS", [input.metadata.name])
}

deny contains msg if {
	input.kind == "DestinationRule"
	input.spec.trafficPolicy.loadBalancer.localityLbSetting
	not input.spec.trafficPolicy.outlierDetection
	msg := sprintf("DestinationRule %s: no outlierDetection", [input.metadata.name])
}

warn contains msg if {
	input.kind == "Service"
	not input.spec.trafficDistribution
	not input.metadata.annotations["service.kubernetes.io/topology-mode"]
	msg := sprintf("Service %s: no topology-aware routing", [input.metadata.name])
}
