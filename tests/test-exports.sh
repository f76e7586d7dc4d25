#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Description: the library exports exactly the names in
# libmsgport/libmsgport.map: nm -g --defined-only on libmsgport.a, and
# the dynamic symbols of libmsgport.so (msgport_version in its own node,
# MSGPORT_0.2).  Anything else is an internal that leaks.  And every
# internal name shared between the library's own files has the one
# internal prefix, mp_ (libuv's uv__, liburing's __io_uring_).
# Environment: srcdir, top_builddir (tests/include.am).
set -u
srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
lib=$top_builddir/.libs
work=${TMPDIR:-/tmp}/msgport-exports.$$
mkdir -p "$work" || exit 99
trap 'rm -rf "$work"' EXIT

# The map's global names.
sed -n '/global:/,/local:\|}/p' "$srcdir/libmsgport/libmsgport.map" |
	sed -n 's/^[ 	]*\([A-Za-z_][A-Za-z0-9_]*\);.*/\1/p' | sort -u >"$work/map"
[ -s "$work/map" ] || { echo "FAIL: no names read from libmsgport.map"; exit 99; }
# Sanitizer runtimes' own hooks are not ours.
ours() {
	grep -v -E '^(__asan|__odr_asan|__tsan|__ubsan|__sanitizer|__sancov)' | sort -u
}
fail=0
compare() {	# compare WHAT FILE
	if ! cmp -s "$work/map" "$2"; then
		echo "FAIL: $1 differs from libmsgport.map (< map only, > $1 only):"
		diff "$work/map" "$2" | grep '^[<>]' | head -40
		fail=1
	else
		echo "ok: $1 exports the $(wc -l <"$2") names of libmsgport.map"
	fi
}
if [ -f "$lib/libmsgport.a" ]; then
	nm -g --defined-only "$lib/libmsgport.a" | awk 'NF == 3 { print $3 }' | ours >"$work/a"
	compare libmsgport.a "$work/a"
fi
so=$lib/libmsgport.so
if [ -f "$so" ]; then
	nm -D --defined-only "$so" | awk 'NF == 3 && $2 != "A" { sub(/@.*/, "", $3); print $3 }' |
		ours >"$work/so"
	compare libmsgport.so "$work/so"
	if ! readelf -W --dyn-syms "$so" | grep -q ' msgport_version@@MSGPORT_0\.2$'; then
		echo "FAIL: msgport_version is not in its node MSGPORT_0.2"
		fail=1
	fi
fi
# The objects the library is made of: their global names are the map's
# or mp_ ones.
objs=$(ls "$top_builddir"/libmsgport/.libs/*.o "$top_builddir"/kport/.libs/*.o 2>/dev/null)
if [ -n "$objs" ]; then
	nm -g --defined-only $objs | awk 'NF == 3 { print $3 }' | ours |
		grep -v -x -F -f "$work/map" | grep -v '^mp_' >"$work/unprefixed"
	if [ -s "$work/unprefixed" ]; then
		echo "FAIL: internal names without the mp_ prefix:"
		head -40 "$work/unprefixed"
		fail=1
	else
		echo "ok: every internal name of the library's objects starts with mp_"
	fi
fi
exit $fail
