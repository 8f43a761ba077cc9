// Package lint finds what defeats zone locality in Kubernetes manifests and
// Envoy configs: it loads documents (keeping every field's position), runs
// the Rego policies in package policies on each one with OPA, and reports
// findings with the file, line and column of the offending field.
//
// It does no I/O of its own: files come in as file.File values, found and
// read by package lint/source (files, Helm charts, kustomizations) or made
// by the caller (the audit's live objects), so the CLI, the kubectl plugin
// and the tests share it, and it links neither Helm nor kustomize.
//
// # Rego input
//
// A Kubernetes object is the input as it is: input.kind, input.metadata,
// input.spec. An Envoy config (a bootstrap, a CDS response or list of
// clusters, an admin /config_dump, or one embedded in a ConfigMap's data
// value) is parsed with Envoy's own API types and handed to the rules as
//
//	{
//	  "apiVersion": "inzone.io/v1alpha1",
//	  "kind": "EnvoyConfig",
//	  "metadata": {"name": <file or ConfigMap/key>, "namespace": <ConfigMap's>},
//	  "format": "bootstrap" | "clusters" | "config_dump",
//	  "bootstrap": <envoy.config.bootstrap.v3.Bootstrap as protojson, proto field names> | absent,
//	  "clusters": [{"path": [<path of the cluster in the input>], "cluster": <envoy.config.cluster.v3.Cluster as protojson>}, ...]
//	}
//
// Enum values are upper case (Envoy parses them case-insensitively); fields
// at their default are absent, so a cluster without "type" is STATIC.
//
// # Rule contract
//
// A rule is a Rego package under data.inzone.rules with package-scoped
// METADATA (title, description, custom.id, custom.severity error|warning|info,
// custom.remediation) and a partial set rule `violation` whose members are
// objects {"msg": string, "path": [string|number, ...]} and may carry
// "hint" (overrides custom.remediation). path names the offending field
// within the input; the finding's line is that field's, or its nearest
// ancestor's when the field is absent (an unset externalTrafficPolicy).
package lint
