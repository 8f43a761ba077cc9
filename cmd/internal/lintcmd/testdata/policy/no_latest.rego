# METADATA
# title: Image tagged latest
# description: A custom rule, to show --policy works with the documented contract.
# scope: package
# custom:
#   id: custom-no-latest
#   severity: warning
#   remediation: Pin the image to a version.
#   kinds: [Pod]
package inzone.rules.custom_no_latest

violation contains {"msg": msg, "path": ["spec", "containers", i, "image"]} if {
	input.kind == "Pod"
	some i, c in input.spec.containers
	endswith(c.image, ":latest")
	msg := sprintf("Pod %s: container %s uses the latest tag", [input.metadata.name, c.name])
}
