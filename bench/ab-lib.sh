#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# ab-lib.sh - one benchmark program against two builds of the library,
# alternating: A B A B ..., ROUNDS times each.  Every run prints its
# RATIO lines (msgport against the program's own baseline, measured in
# the same process); per name this prints the medians under A and B and
#	RATIO <name>:B/A <median under B / median under A>
# so the load of the moment cancels twice: within a run (the baseline)
# and across runs (alternation).  Lower than 1.0: B is faster.
# Usage (from a build directory):
#	sh bench/ab-lib.sh A_LIBDIR B_LIBDIR ROUNDS bench/bench-reply [ARGS...]
# where a LIBDIR holds libmsgport.so.* (a build tree's .libs), and the
# program is a benchmark built in this tree (its libtool wrapper is
# bypassed: the real binary in bench/.libs runs with LD_LIBRARY_PATH).
set -eu
[ $# -ge 4 ] || { sed -n 3,14p "$0"; exit 2; }
a=$1 b=$2 rounds=$3 prog=$4
shift 4
bin=$(dirname "$prog")/.libs/$(basename "$prog")
[ -x "$bin" ] || bin=$prog
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
i=0
while [ "$i" -lt "$rounds" ]; do
	LD_LIBRARY_PATH=$a "$bin" "$@" | grep '^RATIO ' >>"$out/A" || true
	LD_LIBRARY_PATH=$b "$bin" "$@" | grep '^RATIO ' >>"$out/B" || true
	i=$((i + 1))
done
awk '
function median(name, side,   n, i, j, t, v) {
	n = cnt[side, name]
	for (i = 1; i <= n; i++) v[i] = val[side, name, i]
	for (i = 2; i <= n; i++) for (j = i; j > 1 && v[j - 1] > v[j]; j--) {
		t = v[j]; v[j] = v[j - 1]; v[j - 1] = t
	}
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
FNR == 1 { side = (FILENAME ~ /\/A$/) ? "A" : "B" }
{ k = ++cnt[side, $2]; val[side, $2, k] = $3; if (side == "A" && k == 1) names[++nn] = $2 }
END {
	for (i = 1; i <= nn; i++) {
		ma = median(names[i], "A"); mb = median(names[i], "B")
		printf "%s: A %.4g B %.4g (%d rounds)\n", names[i], ma, mb, cnt["A", names[i]]
		printf "RATIO %s:B/A %.3f\n", names[i], (ma > 0 ? mb / ma : 0)
	}
}' "$out/A" "$out/B"
