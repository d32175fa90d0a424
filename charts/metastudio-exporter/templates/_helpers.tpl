{{/*
The chart name, for app.kubernetes.io/name.
*/}}
{{- define "metastudio-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object. It leaves the release name alone when it already
holds the chart name, so "helm install metastudio-exporter ." does not give
metastudio-exporter-metastudio-exporter. Truncated to 63 characters, the
limit of a DNS label, which some names must be.
*/}}
{{- define "metastudio-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "metastudio-exporter.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object.
*/}}
{{- define "metastudio-exporter.labels" -}}
helm.sh/chart: {{ include "metastudio-exporter.chart" . }}
{{ include "metastudio-exporter.selectorLabels" . }}
app.kubernetes.io/version: {{ include "metastudio-exporter.imageTag" . | trunc 63 | trimSuffix "-" | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: metastudio-exporter
{{- end }}

{{/*
Labels the Deployment, Service, PodDisruptionBudget and NetworkPolicy select
pods by. They must never change between upgrades.
*/}}
{{- define "metastudio-exporter.selectorLabels" -}}
app.kubernetes.io/name: {{ include "metastudio-exporter.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "metastudio-exporter.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "metastudio-exporter.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "metastudio-exporter.imageTag" -}}
{{- .Values.image.tag | default .Chart.AppVersion }}
{{- end }}

{{/*
Where the config and the secret are mounted: two sibling directories, as a
mount inside a ConfigMap volume would need a directory the read-only volume
cannot create. Relative *_file paths start at the config file's directory,
so a config can name a secret as ../secrets/KEY or by its absolute path.
*/}}
{{- define "metastudio-exporter.configDir" -}}/etc/metastudio_exporter/config{{- end }}
{{- define "metastudio-exporter.secretsDir" -}}/etc/metastudio_exporter/secrets{{- end }}

{{/*
Refuses value combinations that would render a chart that cannot work, with
the value to fix named.
*/}}
{{- define "metastudio-exporter.validate" -}}
{{- if not (trim .Values.config) }}
{{- fail "config: must hold the exporter's metastudio.yml; it is empty" }}
{{- end }}
{{- if and .Values.callback.externalURL (not .Values.callback.enabled) }}
{{- fail "callback.externalURL is set but callback.enabled is false; enable the receiver or drop the URL" }}
{{- end }}
{{- if and .Values.callback.enabled (eq (int .Values.callback.port) (int .Values.service.port)) }}
{{- fail (printf "callback.port: %d is the metrics port too; the receiver needs a port of its own" (int .Values.callback.port)) }}
{{- end }}
{{- if and .Values.callback.enabled (eq (int .Values.callback.port) 10036) }}
{{- fail "callback.port: 10036 is the container's metrics port; the receiver needs a port of its own" }}
{{- end }}
{{- end }}
