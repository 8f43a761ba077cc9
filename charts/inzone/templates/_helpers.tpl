{{/* Names. fullname is the release name, or "<release>-inzone" when the release name lacks "inzone". */}}
{{- define "inzone.fullname" -}}
{{- if contains "inzone" .Release.Name -}}
{{- .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-inzone" .Release.Name | trunc 52 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{- define "inzone.webhookName" -}}{{ include "inzone.fullname" . }}-webhook{{- end -}}
{{- define "inzone.certSecret" -}}{{ include "inzone.fullname" . }}-webhook-cert{{- end -}}
{{- define "inzone.serviceDNS" -}}{{ include "inzone.webhookName" . }}.{{ .Release.Namespace }}.svc{{- end -}}

{{- define "inzone.selectorLabels" -}}
app.kubernetes.io/name: inzone
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: webhook
{{- end -}}

{{- define "inzone.labels" -}}
{{ include "inzone.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{- define "inzone.image" -}}
{{- if .Values.image.digest -}}
{{ .Values.image.repository }}@{{ .Values.image.digest }}
{{- else -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}
{{- end -}}

{{- define "inzone.selfManagedCerts" -}}{{ if eq .Values.certs.mode "self-managed" }}true{{ end }}{{- end -}}

{{/* inzone-xds: the control plane the sidecars connect to, and its DNS for the DDSD domain. */}}
{{- define "inzone.xdsName" -}}{{ include "inzone.fullname" . }}-xds{{- end -}}
{{- define "inzone.xdsServiceDNS" -}}{{ include "inzone.xdsName" . }}.{{ .Release.Namespace }}.svc{{- end -}}

{{- define "inzone.xdsSelectorLabels" -}}
app.kubernetes.io/name: inzone
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: xds
{{- end -}}

{{- define "inzone.xdsLabels" -}}
{{ include "inzone.xdsSelectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end -}}

{{/*
The serving certificate's DNS names: the webhook's Service and, when the
chart deploys inzone-xds, its Service too. One certificate from one CA
serves both, so the ca.crt next to the webhook's certificate is the CA each
sidecar's bootstrap trusts for inzone-xds.
*/}}
{{- define "inzone.certDNSNames" -}}
{{- $names := list (include "inzone.serviceDNS" .) (printf "%s.cluster.local" (include "inzone.serviceDNS" .)) -}}
{{- if .Values.xds.enabled -}}
{{- $names = append $names (include "inzone.xdsServiceDNS" .) -}}
{{- $names = append $names (printf "%s.cluster.local" (include "inzone.xdsServiceDNS" .)) -}}
{{- end -}}
{{- join "," $names -}}
{{- end -}}

{{/*
The config the webhook and inzone-xds read: values.config, with the control
plane's address, port and plaintext set to the inzone-xds the chart deploys,
and ddsd.dns set to inzone-xds once its DNS serves the domain and the
cluster DNS forwards it (xds.dns.clusterDNSForwards), never before: a
rewrite must not turn a working ELB hostname into a name nothing resolves.
*/}}
{{- define "inzone.config" -}}
{{- $config := deepCopy .Values.config -}}
{{- if and (eq (toString $config.ddsd.dns) "inzone-xds") (not (and .Values.xds.enabled .Values.xds.dns.enabled)) -}}
{{- fail "config.ddsd.dns: inzone-xds needs xds.enabled and xds.dns.enabled: nothing else would resolve the rewritten names" -}}
{{- end -}}
{{- if .Values.xds.enabled -}}
{{- $cp := dict "address" (include "inzone.xdsServiceDNS" .) "port" (int .Values.xds.port) -}}
{{- if .Values.xds.plaintext -}}{{- $_ := set $cp "plaintext" true -}}{{- end -}}
{{- $_ := set $config.sidecar "controlPlane" $cp -}}
{{- if and .Values.xds.dns.enabled .Values.xds.dns.clusterDNSForwards (eq (default "none" $config.ddsd.dns) "none") -}}
{{- $_ := set $config.ddsd "dns" "inzone-xds" -}}
{{- end -}}
{{- end -}}
{{- toYaml $config -}}
{{- end -}}

{{/* The DDSD domain, as mutate.Config.DDSDDomain computes it: the name template's text after its last {service} or {namespace}, from the first dot, with {env} filled in. */}}
{{- define "inzone.ddsdDomain" -}}
{{- $t := replace "{env}" (toString .Values.config.ddsd.env) (toString .Values.config.ddsd.nameTemplate) | lower -}}
{{- $tail := regexReplaceAll "^.*\\}" $t "" -}}
{{- if contains "." $tail -}}{{ regexReplaceAll "^[^.]*\\." $tail "" | trimSuffix "." }}{{- end -}}
{{- end -}}

{{/*
The clusters inzone-xds reads, as its arguments: none (the default, the
cluster it runs in), or --in-cluster (xds.readLocalCluster) and one
--kubeconfig per xds.remoteClusters entry, at the path where
inzone.xdsClusterMounts mounts its Secret. Fails naming the entry and field
of a name, Secret or key that is not one, or of no cluster at all.
*/}}
{{- define "inzone.xdsClusterArgs" -}}
{{- $x := .Values.xds -}}
{{- $seen := dict -}}
{{- range $i, $c := $x.remoteClusters -}}
{{- $at := printf "xds.remoteClusters[%d]" $i -}}
{{- $name := toString $c.name -}}
{{- if or (gt (len $name) 63) (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?$" $name)) -}}
{{- fail (printf "%s.name %q: not a DNS label (at most 63 of a-z, 0-9 and '-', starting and ending with a letter or digit): it names the folder the kubeconfig is mounted in" $at $name) -}}
{{- end -}}
{{- if hasKey $seen $name -}}
{{- fail (printf "%s.name %q: also the name of xds.remoteClusters[%v]: each cluster needs its own" $at $name (get $seen $name)) -}}
{{- end -}}
{{- $_ := set $seen $name $i -}}
{{- $secret := toString $c.secretName -}}
{{- if or (gt (len $secret) 253) (not (regexMatch "^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$" $secret)) -}}
{{- fail (printf "%s.secretName %q: not a Secret name (a DNS subdomain: at most 253 of a-z, 0-9, '-' and '.')" $at $secret) -}}
{{- end -}}
{{- $key := toString (default "kubeconfig" $c.key) -}}
{{- if or (gt (len $key) 253) (not (regexMatch "^[-._a-zA-Z0-9]+$" $key)) (hasPrefix ".." $key) (eq $key ".") -}}
{{- fail (printf "%s.key %q: not a Secret key (at most 253 of a-z, A-Z, 0-9, '-', '_' and '.', not '.' nor starting with '..')" $at $key) -}}
{{- end -}}
{{- end -}}
{{- if and (not $x.readLocalCluster) (not $x.remoteClusters) -}}
{{- fail "xds.readLocalCluster: false with no xds.remoteClusters: inzone-xds would read no cluster" -}}
{{- end -}}
{{- if $x.remoteClusters -}}
{{- if $x.readLocalCluster }}
- --in-cluster
{{- end -}}
{{- range $x.remoteClusters }}
- --kubeconfig={{ include "inzone.xdsClusterDir" .name }}/{{ default "kubeconfig" .key }}
{{- end -}}
{{- end -}}
{{- end -}}

{{/* The folder a remote cluster's kubeconfig Secret is mounted in, by its name. */}}
{{- define "inzone.xdsClusterDir" -}}/etc/inzone-clusters/{{ . }}{{- end -}}

{{/* Whether inzone-xds reads the cluster it runs in, and so needs RBAC and a token there. */}}
{{- define "inzone.xdsReadsLocalCluster" -}}
{{- if or .Values.xds.readLocalCluster (not .Values.xds.remoteClusters) }}true{{ end -}}
{{- end -}}
