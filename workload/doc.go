// Package workload holds the Kubernetes workload kinds inzone knows: the
// kinds whose objects define pods, where each keeps its pod template, the
// names kubectl accepts for them, and which kind's controller creates
// objects of another from its own template (a Deployment its ReplicaSets, a
// CronJob its Jobs). `inzone inject` finds pod templates in manifests with
// it and `kubectl inzone audit` in live objects, so both agree on what a
// workload is.
//
// It is pure: a table and lookups over it, no I/O, no client.
package workload
