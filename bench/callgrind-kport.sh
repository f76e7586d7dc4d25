#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# callgrind-kport.sh - instructions per synchronous call, message against
# raw syscall, from callgrind dumps around each loop of bench-kport.
# Usage (from the build directory): sh bench/callgrind-kport.sh
set -e
out=$(mktemp -d)
./libtool --mode=execute valgrind --tool=callgrind --callgrind-out-file="$out/cg" \
	bench/bench-kport --callgrind >/dev/null 2>&1
for f in "$out"/cg.*; do
	desc=$(sed -n 's/^desc: Trigger: Client Request: //p' "$f")
	[ -n "$desc" ] || continue
	ir=$(sed -n 's/^summary: //p;s/^totals: //p' "$f" | head -1)
	set -- $desc
	echo "$1 $(( ir / $2 )) instructions/call"
done | sort
rm -rf "$out"
