#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Description: msgport-run (issue 19 item 4) on coreutils and findutils
# over a generated tree: ls -l, cat, du -s, find, and failing commands:
# standard output, standard error and exit status exactly as a plain run;
# -c counts a program's calls as strace -f -c does (the calls made once
# the program runs: those of the dynamic loader before the preloaded
# library starts are not seen); -o writes a trace msgport-timeline draws.
# Skipped (77) where Syscall User Dispatch is missing (not x86-64, or a
# kernel before 5.11), and under the sanitizers (their runtimes cannot be
# preloaded after the program's start).
# Environment: top_builddir (tests/include.am).
set -u
b=$(cd "${top_builddir:-.}" && pwd) || exit 99
run=$b/tools/msgport-run
export MSGPORT_RUN_PRELOAD=$b/tools/.libs/msgport-run-preload.so
[ -x "$run" ] && [ -f "$MSGPORT_RUN_PRELOAD" ] || { echo "SKIP: msgport-run not built"; exit 77; }
case $(uname -m) in x86_64) ;; *) echo "SKIP: no Syscall User Dispatch here"; exit 77 ;; esac
if grep -q -e '-fsanitize' "$b/Makefile" 2>/dev/null && grep -q '^SAN_CFLAGS = -f' "$b/Makefile"; then
	echo "SKIP: a sanitized library cannot be preloaded into an unsanitized program"
	exit 77
fi
work=${TMPDIR:-/tmp}/msgport-run.$$
mkdir -p "$work/tree" || exit 99
trap 'rm -rf "$work"' EXIT
# the tree: 5 directories of 20 files, a few bytes each
for d in 1 2 3 4 5; do
	mkdir -p "$work/tree/d$d/sub"
	for f in $(seq 1 20); do echo "file $d.$f" >"$work/tree/d$d/f$f"; done
done
cat "$work"/tree/d*/f* >"$work/all"
probe=$(timeout 30 "$run" true 2>&1)
case $probe in
*"Syscall User Dispatch"*|*"not supported"*) echo "SKIP: $probe"; exit 77 ;;
esac

fail=0
same() {	# same CMD...: msgport-run CMD behaves as CMD
	(cd "$work" && "$@") >"$work/out.plain" 2>"$work/err.plain"
	plain=$?
	(cd "$work" && timeout 60 "$run" "$@") >"$work/out.run" 2>"$work/err.run"
	got=$?
	if [ $got -ne $plain ] || ! cmp -s "$work/out.plain" "$work/out.run" ||
	    ! cmp -s "$work/err.plain" "$work/err.run"; then
		echo "FAIL: $*: exit $got, plain $plain; output or errors differ:"
		diff "$work/out.plain" "$work/out.run" | head -5
		diff "$work/err.plain" "$work/err.run" | head -5
		fail=1
	else
		echo "ok: $* (exit $plain, $(wc -l <"$work/out.plain") lines)"
	fi
}
same ls -l tree/d1
same cat all
same du -s tree
same find tree -name 'f1*'
same ls tree/none
same sh -c 'exit 3'
same sh -c 'ls tree | wc -l; cat all | wc -c'

# -c: the counts of the calls a loader does not make, as strace's
if command -v strace >/dev/null 2>&1; then
	for cmd in "find tree" "du -s tree" "cat all" "ls -l tree/d2"; do
		# shellcheck disable=SC2086
		(cd "$work" && timeout 60 "$run" -c $cmd) >/dev/null 2>"$work/c.run"
		# shellcheck disable=SC2086
		(cd "$work" && strace -f -c -o "$work/c.strace" $cmd) >/dev/null 2>&1
		for call in getdents64 write fchdir statx lgetxattr getxattr; do
			m=$(awk -v c="$call" '$NF == c { print $1 }' "$work/c.run")
			s=$(awk -v c="$call" '$NF == c { print $4 }' "$work/c.strace")
			[ -z "$m$s" ] && continue
			if [ "${m:-0}" != "${s:-0}" ]; then
				echo "FAIL: -c $cmd: $call $m messages, strace $s calls"
				fail=1
			else
				echo "ok: -c $cmd: $call $m, as strace"
			fi
		done
	done
else
	echo "(no strace: counts not compared)"
fi

# -o: the trace of ls, drawn
(cd "$work" && timeout 60 "$run" -o "$work/ls.trace" ls -l tree) >/dev/null 2>&1
if ! [ -s "$work/ls.trace" ] || ! grep -q syscall "$work/ls.trace"; then
	echo "FAIL: -o wrote no trace of messages"
	fail=1
elif ! sh "$b/tools/msgport-timeline" -l "$work/ls.trace" >"$work/ls.lives" ||
    ! [ -s "$work/ls.lives" ]; then
	echo "FAIL: msgport-timeline cannot draw the trace"
	fail=1
else
	echo "ok: -o: $(wc -l <"$work/ls.trace") trace lines, $(wc -l <"$work/ls.lives") lives"
fi
exit $fail
