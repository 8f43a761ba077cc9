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
