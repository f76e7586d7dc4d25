#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# Every program under examples/ and tools/ takes its command line as the
# tools it imitates: --help (usage on stdout, exit 0), --version, an
# unknown option or a bad number (usage on stderr, exit 2), errors that
# name the program on stderr only (exit 1), and the walkers' defaults:
# no operand walks ., -x finishes (also with an empty environment).
# Each command runs under a deadline, so a program that spins fails.
set -u

top=$(pwd)
version=$(sed -n 's/^#define PACKAGE_VERSION "\(.*\)"$/\1/p' "$top/config.h")
tmp=$(mktemp -d /tmp/msgport-args-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
fails=0

# run PROG ARGS...: status in $rc, output in $tmp/out and $tmp/err
run() {
	timeout 30 "$@" >"$tmp/out" 2>"$tmp/err" </dev/null
	rc=$?
}

fail() {
	echo "FAIL: $*"
	sed 's/^/  stdout: /' "$tmp/out" | head -5
	sed 's/^/  stderr: /' "$tmp/err" | head -5
	fails=$((fails + 1))
}

# expect WHAT RC OUT ERR: OUT and ERR are "empty", "any" or a grep pattern
expect() {
	what=$1
	[ "$rc" -eq "$2" ] || { fail "$what: exit $rc, not $2"; return; }
	for k in out err; do
		want=$3
		[ $k = err ] && want=$4
		case $want in
		any) ;;
		empty) [ -s "$tmp/$k" ] && { fail "$what: std$k not empty"; return; } ;;
		*) grep -q -- "$want" "$tmp/$k" || { fail "$what: std$k lacks '$want'"; return; } ;;
		esac
	done
	echo "ok: $what"
}

for p in examples/du/du examples/du/du-sync examples/lsr/lsr examples/lsr/lsr-sync \
    examples/tour/tour examples/timers/timers examples/signals/signals \
    examples/evloop/evloop examples/httpd/httpd tools/msgport-timeline; do
	name=${p##*/}
	run "$top/$p" --help
	expect "$name --help" 0 "^usage: $name" empty
	run "$top/$p" --version
	expect "$name --version" 0 "^$name (msgport) $version\$" empty
	for bad in -Z --no-such-option; do
		run "$top/$p" $bad
		expect "$name $bad" 2 empty "^usage: $name"
		case $name in
		msgport-timeline) ;;	# a script: checked the same, named below
		*) [ "$(head -n 1 "$tmp/err" | cut -d: -f1)" = "$name" ] ||
			fail "$name $bad: the error does not start with '$name:'" ;;
		esac
	done
done

# programs that take no operand refuse one
for p in examples/tour/tour examples/timers/timers examples/signals/signals \
    examples/evloop/evloop; do
	run "$top/$p" extra
	expect "${p##*/} extra" 2 empty "^usage: "
done

for p in examples/du/du examples/du/du-sync examples/lsr/lsr examples/lsr/lsr-sync; do
	name=${p##*/}
	for n in abc 0 -3 99999999999 5x ""; do
		run "$top/$p" -j "$n" .
		expect "$name -j '$n'" 2 empty "^usage: $name"
	done
	run "$top/$p" -j
	expect "$name -j (no number)" 2 empty "^usage: $name"
	run "$top/$p" -j 1 "$top/examples"
	expect "$name -j 1" 0 any empty
	# what cannot be read: stderr only, one line naming the program, exit 1
	run "$top/$p" /nonexistent
	expect "$name /nonexistent" 1 empty "^$name: cannot access '/nonexistent'"
	[ "$(wc -l <"$tmp/err")" -eq 1 ] || fail "$name /nonexistent: not one line on stderr"
done

# no operand walks ., as coreutils does; -x (one file system) finishes
mkdir -p "$tmp/t/a/b" && echo hello >"$tmp/t/a/f" && ln -s f "$tmp/t/a/l"
totals=$(cd "$tmp/t" && find . -mindepth 1 -printf '%s\n' |
    awk '{ s += $1; n++ } END { printf "%d\t%d", s, n }')
xtotals=$(find "$tmp/t" -xdev -mindepth 1 -printf '%s\n' |
    awk '{ s += $1; n++ } END { printf "%d\t%d", s, n }')
for p in examples/du/du examples/du/du-sync; do
	name=${p##*/}
	(cd "$tmp/t" && run "$top/$p" && [ "$rc" -eq 0 ] && [ "$(cat "$tmp/out")" = "$totals	." ]) ||
		fail "$name with no operand does not walk . as find does ($totals)"
	for env in "" "env -i"; do
		run $env "$top/$p" -x "$tmp/t"
		expect "$env $name -x DIR" 0 "^$xtotals	$tmp/t\$" empty
	done
done
(cd "$tmp/t" && run "$top/examples/lsr/lsr" && cp "$tmp/out" "$tmp/lsr.out" &&
    run "$top/examples/lsr/lsr-sync" && cmp -s "$tmp/out" "$tmp/lsr.out" &&
    [ "$(head -n 1 "$tmp/out")" = ".:" ]) || fail "lsr and lsr-sync with no operand do not list ."

# httpd: a bad number and no ROOT are usage errors, named
run "$top/examples/httpd/httpd" -p 70000 .
expect "httpd -p 70000" 2 empty "^httpd: -p: '70000' is not a number"
run "$top/examples/httpd/httpd"
expect "httpd (no ROOT)" 2 empty "^httpd: no ROOT"
run "$top/examples/httpd/httpd" /nonexistent
expect "httpd /nonexistent" 1 empty "^httpd: cannot open '/nonexistent'"

# the timeline names itself when its file cannot be read
run "$top/tools/msgport-timeline" /nonexistent
expect "msgport-timeline /nonexistent" 1 empty "^msgport-timeline: cannot read '/nonexistent'"

[ "$fails" -eq 0 ] || { echo "$fails failed"; exit 1; }
exit 0
