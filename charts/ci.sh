#!/usr/bin/env bash
# The Helm chart's checks, as .ci/run runs them: helm lint, then the Go
# tests in charts/ (a module of its own), which render the chart with
# several value sets and decode every object into the Kubernetes, Gateway
# API and prometheus-operator types. helm comes from the Go module proxy, the one
# source CI has for it.
set -euo pipefail
cd "$(dirname "$0")/.."

helm_version=v3.22.0
gobin="$(go env GOPATH | cut -d: -f1)/bin"
export PATH="$PATH:$gobin"
if ! command -v helm >/dev/null 2>&1; then
  echo "installing helm $helm_version with go install"
  go install "helm.sh/helm/v3/cmd/helm@$helm_version"
fi
echo "helm $(helm version --template '{{.Version}}')"

# A private helm home: no repository or plugin of this machine's user.
helm_home="$(mktemp -d)"
trap 'rm -rf "$helm_home"' EXIT
HELM_CACHE_HOME="$helm_home/cache" HELM_CONFIG_HOME="$helm_home/config" HELM_DATA_HOME="$helm_home/data" \
  helm lint --strict charts/metastudio-exporter

unformatted=$(gofmt -l charts)
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
cd charts
go vet ./...
CI=true go test -count=1 ./...
