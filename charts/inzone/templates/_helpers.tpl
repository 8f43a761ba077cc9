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
