#!/usr/bin/env bash
# Refreshes the Helm chart's copies of the alert rules and the Grafana
# dashboards. Helm cannot read files outside a chart, so the chart carries
# copies of alerts/*.rules.yml and dashboards/*.json; the repository's own
# files are the ones to edit, and charts/sync_test.go fails until this has
# been run after an edit.
set -euo pipefail
cd "$(dirname "$0")/.."

files=charts/metastudio-exporter/files
mkdir -p "$files/alerts" "$files/dashboards"
rm -f "$files"/alerts/*.rules.yml "$files"/dashboards/*.json
cp alerts/*.rules.yml "$files/alerts/"
cp dashboards/*.json "$files/dashboards/"
echo "copied $(ls alerts/*.rules.yml | wc -l) rule file(s) and $(ls dashboards/*.json | wc -l) dashboard(s) into $files"
