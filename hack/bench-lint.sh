#!/usr/bin/env bash
# Whole-binary benchmark of `inzone lint` on ../shared/corpus repeated 1x, 4x
# and 16x: documents per second and peak memory (max RSS), and the same for
# conftest with equivalent policies (hack/bench/conftest) when it is on PATH
# or in $CONFTEST. Each figure is the median of RUNS runs (default 11).
# Prints a Markdown table; run it on an otherwise idle machine.
#
# usage: [RUNS=N] [CONFTEST=path] hack/bench-lint.sh [CORPUS_DIR]
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=${1:-../shared/corpus}
[ -d "$CORPUS" ] || { echo "corpus $CORPUS not found" >&2; exit 1; }
CONFTEST=${CONFTEST:-$(command -v conftest || true)}
RUNS=${RUNS:-11}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# Static, as `make build` and the image build it: linked with cgo, the
# binary maps some 28 MiB more of itself and its peak RSS is that much higher.
CGO_ENABLED=0 go build -o "$work/inzone" ./cmd/inzone
docs=$(python3 -c "import json,sys; print(json.load(open('$CORPUS/truth.json'))['totals']['documents'])")

for n in 1 4 16; do
	mkdir -p "$work/c$n"
	for i in $(seq 1 "$n"); do cp -r "$CORPUS/k8s" "$work/c$n/k8s$i"; cp -r "$CORPUS/envoy" "$work/c$n/envoy$i"; done
done

# measure runs the command RUNS times and prints the median wall seconds
# (from bash's microsecond clock: GNU time's %e has a 10 ms resolution, a
# tenth of a 1x run) and the largest peak RSS in KiB (GNU time's %M).
measure() {
	local walls=() rss=0 t0 t1 k
	for _ in $(seq 1 "$RUNS"); do
		t0=$EPOCHREALTIME
		/usr/bin/time -f "%M" -o "$work/time" "$@" >/dev/null 2>&1 || true
		t1=$EPOCHREALTIME
		walls+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f", b-a}')")
		k=$(tail -n 1 "$work/time")
		if [ "$k" -gt "$rss" ]; then rss=$k; fi
	done
	echo "$(printf '%s\n' "${walls[@]}" | sort -n | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}') $rss"
}

echo "| tool | corpus | documents | seconds | documents/s | peak RSS (MiB) | vs conftest |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for n in 1 4 16; do
	d=$((docs * n))
	read -r s k < <(measure "$work/inzone" lint --format json "$work/c$n")
	if [ -n "$CONFTEST" ]; then
		read -r cs ck < <(measure "$CONFTEST" test --all-namespaces --no-color -o json -p hack/bench/conftest "$work/c$n")
		awk -v n="$n" -v d="$d" -v s="$s" -v k="$k" -v cs="$cs" 'BEGIN{printf "| inzone lint | %dx | %d | %.3f | %.0f | %.0f | %.1fx |\n", n, d, s, d/s, k/1024, cs/s}'
		awk -v n="$n" -v d="$d" -v s="$cs" -v k="$ck" 'BEGIN{printf "| conftest | %dx | %d | %.3f | %.0f | %.0f | |\n", n, d, s, d/s, k/1024}'
	else
		awk -v n="$n" -v d="$d" -v s="$s" -v k="$k" 'BEGIN{printf "| inzone lint | %dx | %d | %.3f | %.0f | %.0f | |\n", n, d, s, d/s, k/1024}'
	fi
done
