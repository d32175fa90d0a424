{{/*
The chart name, for app.kubernetes.io/name.
*/}}
{{- define "metastudio-exporter.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The name of every object: the release name alone when it already says
metastudio (releases metastudio, metastudio-exporter, prod-metastudio), else
{release}-metastudio-exporter, so no name reads metastudio-metastudio-exporter.
As in every chart, fullnameOverride replaces the whole name, and nameOverride
replaces the chart name, in the test as well ({release}-{nameOverride} unless
the release name holds nameOverride). Truncated to 63 characters, the limit of
a DNS label, which some names must be.
*/}}
{{- define "metastudio-exporter.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains (default "metastudio" .Values.nameOverride) .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The StatefulSet's governing headless Service. The StatefulSet's name is at
most 52 characters (see validate), so this one stays within 63.
*/}}
{{- define "metastudio-exporter.headlessName" -}}
{{- printf "%s-headless" (include "metastudio-exporter.fullname" .) }}
{{- end }}

{{/*
The scheme of port metrics, for the probes and the ServiceMonitor: HTTPS once
--web.config.file puts TLS on it (web.tls.enabled says so).
*/}}
{{- define "metastudio-exporter.webScheme" -}}
{{- ternary "HTTPS" "HTTP" .Values.web.tls.enabled }}
{{- end }}

{{/*
A ServiceMonitor endpoint's scheme and tlsConfig: HTTPS with
serviceMonitor.tlsConfig once web.tls.enabled says port metrics serves TLS.
*/}}
{{- define "metastudio-exporter.serviceMonitorScheme" -}}
{{- if .Values.web.tls.enabled -}}
scheme: https
{{- with .Values.serviceMonitor.tlsConfig }}
tlsConfig:
  {{- toYaml . | nindent 2 }}
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
{{- /* Where the claimed volume holding --callback.state-file is mounted. */}}
{{- define "metastudio-exporter.stateDir" -}}/var/lib/metastudio_exporter{{- end }}

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
{{- with .Values.callback.persistence }}
{{- if .enabled }}
{{- if not $.Values.callback.enabled }}
{{- fail "callback.persistence.enabled: the state file holds the receiver's stream table; set callback.enabled too" }}
{{- end }}
{{- range $.Values.extraArgs }}
{{- if hasPrefix "--callback.state-file" . }}
{{- fail "extraArgs: --callback.state-file is set by callback.persistence; drop it from extraArgs" }}
{{- end }}
{{- end }}
{{- /* A StatefulSet's pods carry a label of its name, a dash and a 10-character hash. */}}
{{- $name := include "metastudio-exporter.fullname" $ }}
{{- if gt (len $name) 52 }}
{{- fail (printf "callback.persistence.enabled: the StatefulSet name %s is longer than 52 characters, which Kubernetes refuses; use a shorter release name or set fullnameOverride" $name) }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.callback.ingress }}
{{- if .enabled }}
{{- if not $.Values.callback.enabled }}
{{- fail "callback.ingress.enabled: the Ingress routes to the receiver; set callback.enabled too" }}
{{- end }}
{{- if not .host }}
{{- fail "callback.ingress.host: the receiver's public host name is required, e.g. mon.example.com" }}
{{- end }}
{{- end }}
{{- end }}
{{- with .Values.callback.httpRoute }}
{{- if .enabled }}
{{- if not $.Values.callback.enabled }}
{{- fail "callback.httpRoute.enabled: the HTTPRoute routes to the receiver; set callback.enabled too" }}
{{- end }}
{{- if not .parentRefs }}
{{- fail "callback.httpRoute.parentRefs: name the Gateway (and listener) that carries the route" }}
{{- end }}
{{- end }}
{{- end }}
{{- if and .Values.serviceMonitor.tlsConfig (not .Values.web.tls.enabled) }}
{{- fail "serviceMonitor.tlsConfig is set but web.tls.enabled is false; the metrics port speaks plain HTTP" }}
{{- end }}
{{- end }}
