#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Description: the public headers compile, alone and together, with
# gcc -std=c11 -pedantic, gcc -std=gnu11, clang -std=c11 -pedantic and
# g++/clang++ -std=c++11, c++17 and c++20, all -Wall -Wextra -Werror and
# with no feature-test macro of the program's (each header includes what
# it needs); then tests/headers-prog.c, built as strict C and as C++ and
# linked with the library, sends its getpid messages and runs.
# 77 (skipped) only if a compiler is missing: scripts/deps.sh installs them.
# Environment: srcdir, top_builddir (tests/include.am), SAN_CFLAGS.
set -u
srcdir=${srcdir:-.}
top_builddir=${top_builddir:-.}
inc=$srcdir/include
work=${TMPDIR:-/tmp}/msgport-headers.$$
mkdir -p "$work" || exit 99
trap 'rm -rf "$work"' EXIT

for c in gcc g++ clang clang++; do
	command -v $c >/dev/null 2>&1 || { echo "SKIP: $c is not installed (scripts/deps.sh)"; exit 77; }
done

fail=0
warn="-Wall -Wextra -Werror"
# A translation unit: the named headers, in order, and nothing else.
unit() {
	for h; do printf '#include <%s>\n' "$h"; done
	printf 'int main(void) { return 0; }\n'
}
compile() {	# compile LANG "COMPILER FLAGS" HEADER...
	lang=$1 cc=$2
	shift 2
	unit "$@" >"$work/unit.$lang"
	if ! $cc $warn -I"$inc" -c -o "$work/unit.o" "$work/unit.$lang" 2>"$work/err"; then
		echo "FAIL: $cc: $*"
		sed 's/^/	/' "$work/err" | head -20
		fail=1
	fi
}
sets="msgport.h
msgport-sys.h
msgport-slate.h
msgport.h msgport-sys.h msgport-slate.h
msgport-slate.h msgport-sys.h msgport.h"
n=0
for cc in "gcc -std=c11 -pedantic" "gcc -std=gnu11" "clang -std=c11 -pedantic" \
    "g++ -std=c++11 -x c++" "g++ -std=c++17 -x c++" "g++ -std=c++20 -x c++" \
    "clang++ -std=c++11 -x c++" "clang++ -std=c++20 -x c++"; do
	echo "$sets" | while read -r set; do
		# shellcheck disable=SC2086
		compile c "$cc" $set
		[ $fail = 0 ] || exit 1
	done || fail=1
	n=$((n + 1))
done
echo "compiled the headers alone and together under $n compilers and standards"

# The programs: linked with the built library, run in place.
lib=$top_builddir/.libs
[ -f "$lib/libmsgport.so" ] || { echo "FAIL: $lib/libmsgport.so not built"; exit 99; }
run() {	# run NAME "COMPILER FLAGS"
	if ! $2 $warn ${SAN_CFLAGS:-} -I"$inc" -o "$work/$1" "$srcdir/tests/headers-prog.c" \
	    -L"$lib" -Wl,-rpath,"$lib" -lmsgport -pthread 2>"$work/err"; then
		echo "FAIL: $2: headers-prog.c does not build"
		sed 's/^/	/' "$work/err" | head -20
		fail=1
		return
	fi
	if "$work/$1"; then
		echo "ok: $2: headers-prog ran"
	else
		echo "FAIL: $2: headers-prog failed"
		fail=1
	fi
}
run c11 "gcc -std=c11 -pedantic"
run cxx11 "g++ -std=c++11 -x c++"
run cxx20 "g++ -std=c++20 -x c++"
exit $fail
