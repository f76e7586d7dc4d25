#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# du-bench.sh - the tree-walk challenge, timed side by side.
#
#   bench/du-bench.sh [--cold] [--runs N] DIR...
#
# Times msgport's du (examples/du/du, when built) and the baselines over
# each DIR: the synchronous twin (examples/du/du-sync), a 16-thread
# pthread-pool walker (bench/walk-pool) and an io_uring walker
# (bench/walk-uring); and msgport's lsr (examples/lsr/lsr) against its
# twin lsr-sync.  Programs take turns within each run; medians of N
# runs; RATIO lines compare du against each baseline and lsr against
# lsr-sync (lower is better).
# Hot: caches warmed by one untimed walk.  --cold: caches dropped before
# every timed walk (root only: echo 3 > /proc/sys/vm/drop_caches).
# Run from the build directory.
set -euo pipefail

cold=0 runs=5
while [ $# -gt 0 ]; do
	case $1 in
	--cold) cold=1; shift ;;
	--runs) runs=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--cold] [--runs N] DIR..." >&2; exit 2; }
if [ $cold = 1 ] && [ ! -w /proc/sys/vm/drop_caches ]; then
	echo "du-bench: --cold needs root (drop_caches)" >&2
	exit 77
fi

progs=()
[ -x examples/du/du ] && progs+=("du:examples/du/du")
progs+=("sync:examples/du/du-sync" "pool:bench/walk-pool -j 16")
[ -x bench/walk-uring ] && progs+=("uring:bench/walk-uring")
lsrprogs=()
[ -x examples/lsr/lsr ] && lsrprogs=("lsr:examples/lsr/lsr" "lsr-sync:examples/lsr/lsr-sync")
mode=$([ $cold = 1 ] && echo cold || echo hot)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

for dir in "$@"; do
	declare -A times=()
	expect=$(examples/du/du-sync "$dir" 2>/dev/null | cut -f1,2 || true)
	for p in "${progs[@]}"; do			# warm-up, and check they agree
		got=$(${p#*:} "$dir" 2>/dev/null | cut -f1,2 || true)
		[ "$got" = "$expect" ] || echo "du-bench: ${p%%:*} disagrees on $dir: $got vs $expect" >&2
	done
	if [ ${#lsrprogs[@]} -gt 0 ]; then
		cmp -s <(examples/lsr/lsr "$dir" 2>&1) <(examples/lsr/lsr-sync "$dir" 2>&1) ||
			echo "du-bench: lsr disagrees with lsr-sync on $dir" >&2
	fi
	for ((r = 0; r < runs; r++)); do
		for p in "${progs[@]}" "${lsrprogs[@]}"; do
			[ $cold = 1 ] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
			t0=$(date +%s%N)
			${p#*:} "$dir" >/dev/null 2>&1 || true
			t1=$(date +%s%N)
			times[${p%%:*}]+="$(( (t1 - t0) / 1000 )) "
		done
	done
	echo "du over $dir, $mode cache, median of $runs runs:"
	declare -A med=()
	for p in "${progs[@]}" "${lsrprogs[@]}"; do
		n=${p%%:*}
		med[$n]=$(echo "${times[$n]}" | tr ' ' '\n' | grep . | median)
		awk -v n="$n" -v us="${med[$n]}" 'BEGIN {printf "  %-8s %10.3f s\n", n, us / 1e6}'
	done
	tag=$(basename "$dir" | tr -c 'A-Za-z0-9_\n' _)
	if [ -n "${med[du]:-}" ]; then
		for b in sync pool uring; do
			[ -n "${med[$b]:-}" ] &&
				awk -v m="$mode" -v t="$tag" -v b="$b" -v x="${med[du]}" -v y="${med[$b]}" \
				    'BEGIN {printf "RATIO du_%s_%s_vs_%s %.3f\n", m, t, b, x / y}'
		done
	else
		for b in pool uring; do
			[ -n "${med[$b]:-}" ] &&
				awk -v m="$mode" -v t="$tag" -v b="$b" -v x="${med[$b]}" -v y="${med[sync]}" \
				    'BEGIN {printf "baseline %s_%s: %s/sync %.3f\n", m, t, b, x / y}'
		done
	fi
	[ -n "${med[lsr]:-}" ] &&
		awk -v m="$mode" -v t="$tag" -v x="${med[lsr]}" -v y="${med[lsr-sync]}" \
		    'BEGIN {printf "RATIO lsr_%s_%s_vs_sync %.3f\n", m, t, x / y}'
	unset times med
done
