#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# The guide (doc/guide): every program a chapter names (examples/guide/X.c)
# exists, is built, and runs to its verdict "all checks hold"; every
# picture a chapter shows is there; every chapter is in the index.
set -u
src=${srcdir:-.}
fail() { echo "FAIL: $*"; exit 1; }
[ -d "$src/doc/guide" ] || fail "no doc/guide in $src"
progs=$(cat "$src"/doc/guide/*.md | grep -o 'examples/guide/[a-z]*\.c' | sort -u)
[ -n "$progs" ] || fail "the guide names no program"
for p in $progs; do
	[ -f "$src/$p" ] || fail "the guide names $p, which is not there"
	bin=${p%.c}
	[ -x "$bin" ] || fail "$p is not built ($bin)"
	out=$(timeout 60 "$bin") || fail "$bin exited $?: $out"
	echo "$out" | tail -n 1 | grep -q ': all checks hold$' || fail "$bin did not say all checks hold"
	echo "ran $bin"
done
for img in $(cat "$src"/doc/guide/*.md | grep -o 'img/[a-z0-9-]*\.svg' | sort -u); do
	[ -s "$src/doc/guide/$img" ] || fail "the guide shows $img, which is not there"
done
for ch in "$src"/doc/guide/[0-9]*.md; do
	grep -q "(${ch##*/})" "$src/doc/guide/README.md" || fail "${ch##*/} is not in the guide's index"
done
exit 0
