#!/usr/bin/env bash
# Whole-binary benchmark of `inzone lint` on ../shared/corpus repeated 1x, 4x
# and 16x: documents per second and peak memory (max RSS), and the same for
# conftest with equivalent policies (hack/bench/conftest) when it is on PATH
# or in $CONFTEST. Prints a Markdown table.
#
# usage: hack/bench-lint.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/corpus}
[ -d "$CORPUS" ] || { echo "corpus $CORPUS not found" >&2; exit 1; }
CONFTEST=${CONFTEST:-$(command -v conftest || true)}
RUNS=${RUNS:-3}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/inzone" ./cmd/inzone
docs=$(python3 -c "import json,sys; print(json.load(open('$CORPUS/truth.json'))['totals']['documents'])")

for n in 1 4 16; do
	mkdir -p "$work/c$n"
	for i in $(seq 1 "$n"); do cp -r "$CORPUS/k8s" "$work/c$n/k8s$i"; cp -r "$CORPUS/envoy" "$work/c$n/envoy$i"; done
done

# best of RUNS: wall seconds and max RSS in KiB, from GNU time's format.
measure() {
	local best="" rss=""
	for _ in $(seq 1 "$RUNS"); do
		/usr/bin/time -f "%e %M" -o "$work/time" "$@" >/dev/null 2>&1 || true
		read -r s k < <(tail -n 1 "$work/time")
		if [ -z "$best" ] || awk "BEGIN{exit !($s < $best)}"; then best=$s; rss=$k; fi
	done
	echo "$best $rss"
}

echo "| tool | corpus | documents | seconds | documents/s | peak RSS (MiB) |"
echo "|---|---:|---:|---:|---:|---:|"
for n in 1 4 16; do
	d=$((docs * n))
	read -r s k < <(measure "$work/inzone" lint --format json "$work/c$n")
	awk -v n="$n" -v d="$d" -v s="$s" -v k="$k" 'BEGIN{printf "| inzone lint | %dx | %d | %.2f | %.0f | %.0f |\n", n, d, s, d/s, k/1024}'
	if [ -n "$CONFTEST" ]; then
		read -r s k < <(measure "$CONFTEST" test --all-namespaces --no-color -o json -p hack/bench/conftest "$work/c$n")
		awk -v n="$n" -v d="$d" -v s="$s" -v k="$k" 'BEGIN{printf "| conftest | %dx | %d | %.2f | %.0f | %.0f |\n", n, d, s, d/s, k/1024}'
	fi
done
