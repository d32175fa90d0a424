{{/*
The pod template of the Deployment and of the StatefulSet (with
callback.persistence), one definition so that the two never drift apart.
*/}}
{{- define "metastudio-exporter.podTemplate" -}}
metadata:
  annotations:
    # A new config rolls the pods: a config the exporter refuses then
    # shows as a failed rollout instead of a silently kept old one.
    checksum/config: {{ .Values.config | sha256sum }}
    {{- with .Values.podAnnotations }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  labels:
    {{- include "metastudio-exporter.labels" . | nindent 4 }}
    {{- with .Values.podLabels }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
spec:
  serviceAccountName: {{ include "metastudio-exporter.serviceAccountName" . }}
  automountServiceAccountToken: {{ .Values.automountServiceAccountToken }}
  {{- with .Values.imagePullSecrets }}
  imagePullSecrets:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.priorityClassName }}
  priorityClassName: {{ . }}
  {{- end }}
  securityContext:
    {{- toYaml .Values.podSecurityContext | nindent 4 }}
  containers:
    - name: exporter
      image: "{{ .Values.image.repository }}:{{ include "metastudio-exporter.imageTag" . }}"
      imagePullPolicy: {{ .Values.image.pullPolicy }}
      args:
        - --config.file={{ include "metastudio-exporter.configDir" . }}/metastudio.yml
        - --web.listen-address=:10036
        {{- if .Values.callback.enabled }}
        - --callback.listen-address=:{{ .Values.callback.port }}
        {{- with .Values.callback.externalURL }}
        - {{ printf "--callback.external-url=%s" . | quote }}
        {{- end }}
        {{- if .Values.callback.persistence.enabled }}
        - --callback.state-file={{ include "metastudio-exporter.stateDir" . }}/callback-state.json
        {{- end }}
        {{- end }}
        {{- range .Values.extraArgs }}
        - {{ . | quote }}
        {{- end }}
      ports:
        - name: metrics
          containerPort: 10036
          protocol: TCP
        {{- if .Values.callback.enabled }}
        - name: callback
          containerPort: {{ .Values.callback.port }}
          protocol: TCP
        {{- end }}
      livenessProbe:
        httpGet:
          path: /-/healthy
          port: metrics
          scheme: {{ include "metastudio-exporter.webScheme" . }}
        periodSeconds: 10
        timeoutSeconds: 5
        failureThreshold: 3
      readinessProbe:
        httpGet:
          path: /-/ready
          port: metrics
          scheme: {{ include "metastudio-exporter.webScheme" . }}
        periodSeconds: 10
        timeoutSeconds: 5
        failureThreshold: 3
      resources:
        {{- toYaml .Values.resources | nindent 8 }}
      securityContext:
        {{- toYaml .Values.securityContext | nindent 8 }}
      volumeMounts:
        - name: config
          mountPath: {{ include "metastudio-exporter.configDir" . }}
          readOnly: true
        {{- if .Values.existingSecret }}
        - name: secrets
          mountPath: {{ include "metastudio-exporter.secretsDir" . }}
          readOnly: true
        {{- end }}
        {{- if .Values.callback.persistence.enabled }}
        # The StatefulSet's volumeClaimTemplate: a volume of this pod's own
        # that outlives it, unlike the read-only root filesystem or an
        # emptyDir.
        - name: state
          mountPath: {{ include "metastudio-exporter.stateDir" . }}
        {{- end }}
        {{- with .Values.extraVolumeMounts }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
  volumes:
    - name: config
      configMap:
        name: {{ include "metastudio-exporter.fullname" . }}
    {{- if .Values.existingSecret }}
    - name: secrets
      secret:
        secretName: {{ .Values.existingSecret | quote }}
        # Readable by the exporter's group (fsGroup), by nobody else.
        defaultMode: 0440
    {{- end }}
    {{- with .Values.extraVolumes }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
  {{- with .Values.nodeSelector }}
  nodeSelector:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.affinity }}
  affinity:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.tolerations }}
  tolerations:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  {{- with .Values.topologySpreadConstraints }}
  topologySpreadConstraints:
    {{- toYaml . | nindent 4 }}
  {{- end }}
{{- end }}
