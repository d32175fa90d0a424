// The Grafana dashboards as Go code. A module of its own keeps Grafana's SDK
// out of the exporter's dependencies: the exporter embeds the generated JSON
// (package dashboards), never this code.
module github.com/metastudio-exporter/metastudio_exporter/dashboards/build

go 1.26.0

require github.com/grafana/grafana-foundation-sdk/go v0.0.22
