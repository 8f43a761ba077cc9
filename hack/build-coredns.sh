#!/usr/bin/env bash
# Builds CoreDNS into $BIN from the Go module proxy, for the test that runs
# the README's Corefile (the DDSD domain forwarded to inzone-xds's DNS) on
# loopback and queries through it. Rebuilt only when COREDNS_VERSION changes.
#
# usage: hack/build-coredns.sh BIN_DIR
set -euo pipefail

BIN=${1:?usage: build-coredns.sh BIN_DIR}
COREDNS_VERSION=${COREDNS_VERSION:-v1.15.0}
mkdir -p "$BIN"
BIN=$(cd "$BIN" && pwd)
STAMP="$BIN/.coredns-version"
WANT="coredns=$COREDNS_VERSION"

if [ -x "$BIN/coredns" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]; then
	echo "coredns up to date in $BIN ($WANT)"
	exit 0
fi
echo "building coredns $COREDNS_VERSION"
GOBIN="$BIN" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "github.com/coredns/coredns@$COREDNS_VERSION"
echo "$WANT" >"$STAMP"
"$BIN/coredns" -version
