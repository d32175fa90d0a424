package charts

// The value sets the chart tests and TestLint render.
const (
	callbackValues = `
callback:
  enabled: true
  externalURL: https://mon.example.com
`
	secretValues = `
existingSecret: metastudio-credentials
extraArgs:
  - --log.level=debug
  - --scrape.max-concurrency=64
`
	scaledOutValues = `
replicaCount: 3
podDisruptionBudget:
  enabled: true
networkPolicy:
  enabled: true
  metricsFrom:
    - namespaceSelector:
        matchLabels:
          kubernetes.io/metadata.name: monitoring
`
	everythingValues = `
replicaCount: 2
existingSecret: metastudio-credentials
extraArgs: [--log.format=json]
callback:
  enabled: true
  port: 10100
  externalURL: https://mon.example.com:10100
serviceMonitor:
  enabled: true
  labels:
    release: kube-prometheus-stack
prometheusRule:
  enabled: true
dashboards:
  enabled: true
  annotations:
    grafana_folder: MetaStudio
networkPolicy:
  enabled: true
podDisruptionBudget:
  enabled: true
podAnnotations:
  example.com/team: live
nodeSelector:
  kubernetes.io/os: linux
tolerations:
  - key: dedicated
    operator: Equal
    value: monitoring
    effect: NoSchedule
affinity:
  podAntiAffinity:
    preferredDuringSchedulingIgnoredDuringExecution:
      - weight: 100
        podAffinityTerm:
          topologyKey: kubernetes.io/hostname
          labelSelector:
            matchLabels:
              app.kubernetes.io/name: metastudio-exporter
`

	// The stream table on a claimed volume, reached through an Ingress
	// with TLS, with the policies that must select a StatefulSet's pods.
	persistenceValues = `
replicaCount: 2
callback:
  enabled: true
  externalURL: https://mon.example.com
  persistence:
    enabled: true
    size: 2Gi
    storageClass: fast-ssd
  ingress:
    enabled: true
    className: nginx
    host: mon.example.com
    annotations:
      cert-manager.io/cluster-issuer: letsencrypt
    tls:
      - secretName: mon-example-com-tls
networkPolicy:
  enabled: true
podDisruptionBudget:
  enabled: true
serviceMonitor:
  enabled: true
`
	httpRouteValues = `
callback:
  enabled: true
  externalURL: https://mon.example.com
  httpRoute:
    enabled: true
    parentRefs:
      - name: public
        namespace: gateways
        sectionName: https
    hostnames:
      - mon.example.com
`
	// TLS on port metrics through --web.config.file.
	webTLSValues = `
web:
  tls:
    enabled: true
extraArgs:
  - --web.config.file=/etc/metastudio_exporter/web/web-config.yml
extraVolumes:
  - name: web
    secret:
      secretName: metastudio-web
extraVolumeMounts:
  - name: web
    mountPath: /etc/metastudio_exporter/web
    readOnly: true
serviceMonitor:
  enabled: true
  tlsConfig:
    serverName: metastudio.observability.svc
    ca:
      secret:
        name: metastudio-web
        key: ca.crt
`
)

var valueSets = []struct{ name, values string }{
	{"defaults", ""},
	{"everything", everythingValues},
	{"callback", callbackValues},
	{"secret and args", secretValues},
	{"scaled out", scaledOutValues},
	{"persistence and ingress", persistenceValues},
	{"http route", httpRouteValues},
	{"web tls", webTLSValues},
}
