{{/* The name in `app.kubernetes.io/name`: the chart's, or nameOverride. */}}
{{- define "bmn.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The prefix of every object's name: fullnameOverride, else the release name when it already contains the
short name (`bmn`, or nameOverride), else `<release>-bmn`. Release `bmn` gives `bmn-operator`, `bmn-edit`...
*/}}
{{- define "bmn.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default "bmn" .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Labels selecting the operator's pods; they never change for a release (Deployment selectors are immutable). */}}
{{- define "bmn.selectorLabels" -}}
app.kubernetes.io/name: {{ include "bmn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "bmn.labels" -}}
{{ include "bmn.selectorLabels" . }}
app.kubernetes.io/part-of: beast-mode-network
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}

{{- define "bmn.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "bmn.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "bmn.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Labels of the CRDs: the chart's, without the operator component (they outlive a release with crds.keep). */}}
{{- define "bmn.crdLabels" -}}
app.kubernetes.io/name: {{ include "bmn.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/part-of: beast-mode-network
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{- end }}
