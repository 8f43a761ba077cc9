#!/usr/bin/env bash
# Builds the helm CLI the chart tests run (helm lint, helm template) into
# $BIN from the Go module proxy, with the version stamps helm's own Makefile
# sets: without them `helm template` assumes Kubernetes v1.20 and refuses the
# chart's kubeVersion. Rebuilt only when HELM_VERSION changes.
#
# usage: hack/build-helm.sh BIN_DIR
set -euo pipefail

BIN=${1:?usage: build-helm.sh BIN_DIR}
HELM_VERSION=${HELM_VERSION:-v3.22.0}
# The Kubernetes minor helm's client-go (v0.37) speaks.
HELM_KUBE_MINOR=${HELM_KUBE_MINOR:-37}
mkdir -p "$BIN"
BIN=$(cd "$BIN" && pwd)
STAMP="$BIN/.helm-version"
WANT="helm=$HELM_VERSION kube=1.$HELM_KUBE_MINOR"

if [ -x "$BIN/helm" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
	echo "helm up to date in $BIN ($WANT)"
	exit 0
fi
echo "building helm $HELM_VERSION"
pkg=helm.sh/helm/v3
GOBIN="$BIN" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w \
	-X $pkg/internal/version.version=$HELM_VERSION \
	-X $pkg/pkg/lint/rules.k8sVersionMajor=1 -X $pkg/pkg/lint/rules.k8sVersionMinor=$HELM_KUBE_MINOR \
	-X $pkg/pkg/chartutil.k8sVersionMajor=1 -X $pkg/pkg/chartutil.k8sVersionMinor=$HELM_KUBE_MINOR" \
	"$pkg/cmd/helm@$HELM_VERSION"
echo "$WANT" >"$STAMP"
"$BIN/helm" version --short
