#!/usr/bin/env bash
# Builds the control-plane binaries the real-cluster tests need (kube-apiserver,
# kube-scheduler, kube-controller-manager, etcd) from the Go module proxy into
# $BIN. setup-envtest cannot download here, and `go install pkg@version`
# refuses modules with replace directives, so each is built inside a throwaway
# module. A binary is rebuilt only when its version stamp changes.
#
# usage: hack/build-control-plane.sh BIN_DIR
set -euo pipefail

BIN=${1:?usage: build-control-plane.sh BIN_DIR}
KUBE_VERSION=${KUBE_VERSION:-v1.36.3}
ETCD_VERSION=${ETCD_VERSION:-v3.6.6}
mkdir -p "$BIN"
BIN=$(cd "$BIN" && pwd)
STAMP="$BIN/.control-plane-versions"
WANT="kubernetes=$KUBE_VERSION etcd=$ETCD_VERSION stamped"

have_all() {
	for b in kube-apiserver kube-scheduler kube-controller-manager etcd; do
		[ -x "$BIN/$b" ] || return 1
	done
	[ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANT" ]
}

if have_all; then
	echo "control plane up to date in $BIN ($WANT)"
	exit 0
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# --- Kubernetes: require k8s.io/kubernetes and pin every staging module it
# replaces with ./staging/src/... to the matching v0.<minor>.<patch>.
staging_version="v0.${KUBE_VERSION#v1.}"
mkdir -p "$work/kube"
(
	cd "$work/kube"
	go mod init inzone.local/controlplane >/dev/null 2>&1
	modfile=$(go mod download -json "k8s.io/kubernetes@$KUBE_VERSION" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
	[ -n "$modfile" ] || { echo "cannot download k8s.io/kubernetes@$KUBE_VERSION" >&2; exit 1; }
	go mod edit -require="k8s.io/kubernetes@$KUBE_VERSION"
	grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$modfile" | awk '{print $1}' | while read -r mod; do
		go mod edit -replace="$mod=$mod@$staging_version"
	done
	cat >tools.go <<'EOF'
//go:build tools

package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kube-controller-manager"
	_ "k8s.io/kubernetes/cmd/kube-scheduler"
)
EOF
	go mod tidy -e >/dev/null 2>&1 || go mod tidy
	# Stamp the version as the release build does: without it the server
	# reports v0.0.0-master and clients that check it (nativeSidecar: auto)
	# see a pre-1.29 server.
	minor=${KUBE_VERSION#v1.}
	minor=${minor%%.*}
	vpkg=k8s.io/component-base/version
	ldflags="-s -w -X $vpkg.gitVersion=$KUBE_VERSION -X $vpkg.gitMajor=1 -X $vpkg.gitMinor=$minor -X $vpkg.gitTreeState=clean"
	for cmd in kube-apiserver kube-scheduler kube-controller-manager; do
		echo "building $cmd $KUBE_VERSION"
		CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$BIN/$cmd" "k8s.io/kubernetes/cmd/$cmd"
	done
)

# --- etcd: a throwaway module requiring the server module.
mkdir -p "$work/etcd"
(
	cd "$work/etcd"
	go mod init inzone.local/etcd >/dev/null 2>&1
	cat >tools.go <<'EOF'
//go:build tools

package tools

import _ "go.etcd.io/etcd/server/v3"
EOF
	go mod edit -require="go.etcd.io/etcd/server/v3@$ETCD_VERSION"
	go mod tidy -e >/dev/null 2>&1 || go mod tidy
	echo "building etcd $ETCD_VERSION"
	CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$BIN/etcd" go.etcd.io/etcd/server/v3
)

echo "$WANT" >"$STAMP"
echo "control plane built in $BIN ($WANT)"
