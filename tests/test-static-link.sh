#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Description: libmsgport.a exports only the public names, so a program
# defining its own pool_start, msg_send and kstate (names the library
# uses inside) links with -static and runs: tests/static-collide.c,
# linked as msgport.pc says (Requires.private: libevent_pthreads,
# libevent, ck).  Sanitizer builds link the archive without -static
# (their runtimes do not link statically).  77 (skipped) if the library
# is built without its archive or static libevent/ck are not installed
# (Debian's libevent-dev and libck-dev ship them).
# Environment: srcdir, top_builddir (tests/include.am), CC, SAN_CFLAGS.
set -u
srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
cc=${CC:-cc}
lib=$top_builddir/.libs
work=${TMPDIR:-/tmp}/msgport-static.$$
mkdir -p "$work" || exit 99
trap 'rm -rf "$work"' EXIT

[ -f "$lib/libmsgport.a" ] || { echo "SKIP: no libmsgport.a (configure --disable-static)"; exit 77; }
static=-static how=-static
if [ -n "${SAN_CFLAGS:-}" ]; then
	static= how="without -static (sanitizers)"
else
	for a in libevent.a libevent_pthreads.a libck.a; do
		case $($cc -print-file-name=$a) in
		/*) ;;
		*) echo "SKIP: no static $a"; exit 77 ;;
		esac
	done
fi
# msgport.pc as installed, pointed at the build tree.
flags=$(PKG_CONFIG_PATH=$top_builddir${PKG_CONFIG_PATH:+:$PKG_CONFIG_PATH} \
    ${PKG_CONFIG:-pkg-config} --static --cflags --libs \
    --define-variable=libdir="$lib" --define-variable=includedir="$srcdir/include" msgport) ||
	{ echo "FAIL: pkg-config --static msgport"; exit 1; }
# the archive by name: without -static, -lmsgport would find the .so
flags=$(echo " $flags " | sed 's/ -lmsgport / /')
# shellcheck disable=SC2086
if ! $cc $static ${SAN_CFLAGS:-} -o "$work/collide" "$srcdir/tests/static-collide.c" \
    "$lib/libmsgport.a" $flags 2>"$work/err"; then
	echo "FAIL: $cc $static: static-collide.c does not link against libmsgport.a"
	grep -v 'statically linked applications requires' "$work/err" | head -20
	exit 1
fi
"$work/collide" || { echo "FAIL: static-collide failed"; exit 1; }
echo "ok: a program with its own pool_start, msg_send and kstate linked $how and ran"
