#!/usr/bin/env bash
# Copies the real CustomResourceDefinitions of the optional objects the chart
# renders (cert-manager's Issuer and Certificate, prometheus-operator's
# ServiceMonitor) from their Go modules on the module proxy into $BIN/crds,
# so the chart tests dry-run those objects against their real schemas.
#
# usage: hack/fetch-crds.sh BIN_DIR
set -euo pipefail

BIN=${1:?usage: fetch-crds.sh BIN_DIR}
CERT_MANAGER_VERSION=${CERT_MANAGER_VERSION:-v1.21.2}
PROMETHEUS_OPERATOR_VERSION=${PROMETHEUS_OPERATOR_VERSION:-v0.85.0}
OUT="$BIN/crds"
STAMP="$OUT/.versions"
WANT="cert-manager=$CERT_MANAGER_VERSION prometheus-operator=$PROMETHEUS_OPERATOR_VERSION"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
	echo "CRDs up to date in $OUT ($WANT)"
	exit 0
fi
mkdir -p "$OUT"
dir() { go mod download -json "$1" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p'; }
cm=$(dir "github.com/cert-manager/cert-manager@$CERT_MANAGER_VERSION")
po=$(dir "github.com/prometheus-operator/prometheus-operator@$PROMETHEUS_OPERATOR_VERSION")
install -m 0644 "$cm/deploy/crds/cert-manager.io_issuers.yaml" "$cm/deploy/crds/cert-manager.io_certificates.yaml" "$OUT/"
install -m 0644 "$po/example/prometheus-operator-crd/monitoring.coreos.com_servicemonitors.yaml" "$OUT/"
echo "$WANT" >"$STAMP"
echo "CRDs copied to $OUT ($WANT)"
