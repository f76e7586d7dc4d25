#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# run-bench.sh - msgport-run against a plain run and against strace.
#
#   bench/run-bench.sh [--runs N] [DIR]
#
# Times `du -s DIR` (default /usr) plain, under `msgport-run`, under
# `msgport-run -c` and under `strace -f -c` (the tool one would reach for
# to count a program's calls), taking turns within each run, after one
# untimed walk warms the caches; medians of N runs (default 5).  RATIO
# lines (lower is better): msgport-run -c against strace -f -c (the goal
# is at most 1/3), and each against the plain run.  PERCALL lines: what
# each adds per system call, from msgport-run -c's count of the calls.
# strace is installed by this script if missing (apt-get), never needed
# to build or test.  Run from the build directory.
set -euo pipefail

runs=5
if [ "${1:-}" = --runs ]; then runs=$2; shift 2; fi
dir=${1:-/usr}
run=tools/msgport-run
export MSGPORT_RUN_PRELOAD=$PWD/tools/.libs/msgport-run-preload.so
[ -x "$run" ] || { echo "run-bench: build msgport-run first (make)" >&2; exit 2; }
if ! command -v strace >/dev/null 2>&1; then
	apt-get install -y -q strace >/dev/null 2>&1 || { echo "run-bench: no strace" >&2; exit 77; }
fi

now() { date +%s.%N; }
timeit() {	# timeit CMD...: seconds, output thrown away
	local t0 t1
	t0=$(now)
	"$@" >/dev/null 2>&1
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

du -s "$dir" >/dev/null 2>&1 || true	# warm the caches
calls=$("$run" -c du -s "$dir" 2>&1 >/dev/null | awk '$NF == "total" { print $1 }')
declare -A t
for k in plain run runc strace; do t[$k]=""; done
for ((i = 0; i < runs; i++)); do
	t[plain]+="$(timeit du -s "$dir") "
	t[run]+="$(timeit "$run" du -s "$dir") "
	t[runc]+="$(timeit "$run" -c du -s "$dir") "
	t[strace]+="$(timeit strace -f -c -o /dev/null du -s "$dir") "
done
declare -A m
for k in plain run runc strace; do
	m[$k]=$(echo "${t[$k]}" | tr ' ' '\n' | grep . | median)
	printf '%-28s %8.3f s  (runs: %s)\n' "du -s $dir: $k" "${m[$k]}" "${t[$k]}"
done
echo "calls seen by msgport-run -c: $calls"
ratio() { echo "scale=3; $1 / $2" | bc -l; }
echo "RATIO msgport-run-c-vs-strace-f-c $(ratio "${m[runc]}" "${m[strace]}")"
echo "RATIO msgport-run-vs-plain $(ratio "${m[run]}" "${m[plain]}")"
echo "RATIO msgport-run-c-vs-plain $(ratio "${m[runc]}" "${m[plain]}")"
echo "RATIO strace-f-c-vs-plain $(ratio "${m[strace]}" "${m[plain]}")"
percall() { echo "scale=2; ($1 - ${m[plain]}) * 1000000 / $calls" | bc -l; }
echo "PERCALL msgport-run $(percall "${m[run]}") us"
echo "PERCALL msgport-run-c $(percall "${m[runc]}") us"
echo "PERCALL strace-f-c $(percall "${m[strace]}") us"
