#!/usr/bin/env bash
# Whole-binary benchmark of `inzone lint` on ../shared/corpus repeated 1x, 4x
# and 16x: documents per second and peak memory (max RSS), and the same for
# conftest with equivalent policies (hack/bench/conftest) when it is on PATH
# or in $CONFTEST, the two tools' runs in turn. Each figure is the median of
# RUNS runs (default 11).
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

# once runs a command once and appends its wall seconds (from bash's
# microsecond clock: GNU time's %e has a 10 ms resolution, a tenth of a 1x
# run) to $work/$1.wall and its peak RSS in KiB (GNU time's %M) to
# $work/$1.rss.
once() {
	local name=$1 t0 t1
	shift
	t0=$EPOCHREALTIME
	/usr/bin/time -f "%M" -o "$work/time" "$@" >/dev/null 2>&1 || true
	t1=$EPOCHREALTIME
	awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.4f\n", b-a}' >>"$work/$name.wall"
	tail -n 1 "$work/time" >>"$work/$name.rss"
}

# summary prints the median wall seconds and the largest peak RSS of name.
summary() {
	echo "$(sort -n "$work/$1.wall" | awk '{a[NR]=$1} END{print a[int((NR+1)/2)]}') $(sort -n "$work/$1.rss" | tail -n 1)"
}

echo "| tool | corpus | documents | seconds | documents/s | peak RSS (MiB) | vs conftest |"
echo "|---|---:|---:|---:|---:|---:|---:|"
for n in 1 4 16; do
	d=$((docs * n))
	# The two tools' runs alternate, so that both see the same machine:
	# on a shared one, a busy minute otherwise lands on one tool only.
	rm -f "$work"/*.wall "$work"/*.rss
	for _ in $(seq 1 "$RUNS"); do
		once inzone "$work/inzone" lint --format json "$work/c$n"
		if [ -n "$CONFTEST" ]; then
			once conftest "$CONFTEST" test --all-namespaces --no-color -o json -p hack/bench/conftest "$work/c$n"
		fi
	done
	read -r s k < <(summary inzone)
	if [ -n "$CONFTEST" ]; then
		read -r cs ck < <(summary conftest)
		awk -v n="$n" -v d="$d" -v s="$s" -v k="$k" -v cs="$cs" 'BEGIN{printf "| inzone lint | %dx | %d | %.3f | %.0f | %.0f | %.1fx |\n", n, d, s, d/s, k/1024, cs/s}'
		awk -v n="$n" -v d="$d" -v s="$cs" -v k="$ck" 'BEGIN{printf "| conftest | %dx | %d | %.3f | %.0f | %.0f | |\n", n, d, s, d/s, k/1024}'
	else
		awk -v n="$n" -v d="$d" -v s="$s" -v k="$k" 'BEGIN{printf "| inzone lint | %dx | %d | %.3f | %.0f | %.0f | |\n", n, d, s, d/s, k/1024}'
	fi
done
