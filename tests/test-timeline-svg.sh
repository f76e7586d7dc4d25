#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# msgport-timeline --svg: the tour's trace drawn as a sequence diagram is
# well-formed XML, renders to a PNG of the size it says (1280x720), and
# holds one lifeline per thread and one band per message life of the
# trace, the threads and commands by name; --from/--to keep a window; a generated trace of 100,000 steps
# renders, whole and windowed, well inside a generous bound.
set -u
command -v xmllint >/dev/null && command -v rsvg-convert >/dev/null ||
	{ echo "SKIP: xmllint or rsvg-convert missing (scripts/deps.sh installs them)"; exit 77; }
tl=tools/msgport-timeline
dir=$(mktemp -d) || exit 1
trap 'rm -rf "$dir"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

MSGPORT_TRACE=$dir/tour.trace examples/tour/tour >/dev/null || fail "the tour failed"
$tl --svg "$dir/tour.trace" >"$dir/tour.svg" || fail "--svg exited $?"
xmllint --noout "$dir/tour.svg" || fail "the SVG is not well-formed"
rsvg-convert "$dir/tour.svg" -o "$dir/tour.png" || fail "rsvg-convert failed"
[ -s "$dir/tour.png" ] || fail "an empty PNG"
# a PNG's width and height: big-endian words at bytes 16 and 20
size=$(od -An -tu1 -j16 -N8 "$dir/tour.png" | awk '{ printf "%dx%d", (($1*256+$2)*256+$3)*256+$4, (($5*256+$6)*256+$7)*256+$8 }')
[ "$size" = 1280x720 ] || fail "the PNG is $size, not 1280x720"

# what the trace holds: its threads, and its lives (each starts at a send)
threads=$(awk '$1 ~ /^[0-9]+$/ && $3 != "name" { print $2 }' "$dir/tour.trace" | sort -u | wc -l)
lives=$(awk '$3 == "send"' "$dir/tour.trace" | wc -l)
count() { grep -o "class=\"$1\"" "$2" | wc -l; }
[ "$threads" -ge 3 ] && [ "$lives" -ge 10 ] || fail "the tour traced $threads threads, $lives lives"
[ "$(count lifeline "$dir/tour.svg")" -eq "$threads" ] ||
	fail "$(count lifeline "$dir/tour.svg") lifelines for $threads threads"
[ "$(count band "$dir/tour.svg")" -eq "$lives" ] ||
	fail "$(count band "$dir/tour.svg") bands for $lives lives"
# every kind of step the tour takes has its mark
for m in send inline loop plug abort return take; do
	[ "$(count "m-$m" "$dir/tour.svg")" -ge 2 ] || fail "no mark m-$m"	# one in the legend
done
grep -q '>= 144<' "$dir/tour.svg" || fail "the first square's result is not on an arrow"
grep -q '>nanosleep<' "$dir/tour.svg" || fail "the command's name is not on an arrow"
# names: the server thread's own (pthread_setname_np), the library's event
# loop, and the server port's commands (portcmdnames)
for name in tour server mp-evloop; do
	grep -q "font-weight=\"bold\">$name<" "$dir/tour.svg" || fail "no lifeline named $name"
done
grep -q '>square<' "$dir/tour.svg" || fail "the server's command has no name on its arrow"
$tl -l "$dir/tour.trace" | grep -q '^#1 .* tour  *send square (sync) .*\[server\]' ||
	fail "-l does not name the threads and the command"
$tl -c "$dir/tour.trace" | grep -q '"thread_name".*"name":"mp-evloop"' || fail "-c does not name the loop thread"

# a window: the steps from 2 ms on only (the system port's part of the tour)
$tl --svg --from 2ms "$dir/tour.trace" >"$dir/win.svg" || fail "--from exited $?"
xmllint --noout "$dir/win.svg" || fail "the windowed SVG is not well-formed"
# the lives with a step in the window (a life starts at its send)
late=$(awk '$3 == "name" || $4 ~ /^msg=0x0?$/ { next }
	{ if ($3 == "send" || !($4 in life)) life[$4] = ++n; if ($1 >= 2000000) in_window[life[$4]] = 1 }
	END { for (k in in_window) c++; print c + 0 }' "$dir/tour.trace")
[ "$(count band "$dir/win.svg")" -eq "$late" ] || fail "the window holds $(count band "$dir/win.svg") bands, not $late"
$tl --svg --from 1x "$dir/tour.trace" >/dev/null 2>&1; [ $? -eq 2 ] || fail "a bad time is not refused"

# a held upcall (a hold step of the port, no message) marks the life that
# waits there, and an upcall takes it
cat >"$dir/held.trace" <<'END'
10 7 name name=owner
10 7 send msg=0x10 cmd=31 port=0x1/system how=async err=0 res=0 flags=0x101
20 8 name name=mp-evloop
20 8 return msg=0x10 cmd=31 port=0x2/upcall how=port err=0 res=0 flags=0x2101
30 7 hold msg=0x0 port=0x2/upcall how=crit
40 7 take msg=0x10 cmd=31 port=0x2/upcall how=upcall err=0 res=0 flags=0xf01
END
$tl --svg "$dir/held.trace" >"$dir/held.svg" || fail "--svg exited $?"
[ "$(count m-crit "$dir/held.svg")" -eq 2 ] && [ "$(count m-upcall "$dir/held.svg")" -eq 2 ] &&
	[ "$(count band "$dir/held.svg")" -eq 1 ] || fail "a held upcall is not drawn on its life"
$tl -l "$dir/held.trace" | grep -q 'held by a critical section .* upcall interrupts' ||
	fail "-l does not tell the held upcall"

# 100,000 steps: 20,000 lives of five steps over four threads
awk 'BEGIN {
	for (i = 0; i < 20000; i++) {
		t = i * 5000; m = sprintf("0x%x", 4096 + (i % 64) * 128); w = 101 + i % 3
		printf "%d 100 send msg=%s cmd=5 port=0x1/system how=async err=0 res=0 flags=0x101\n", t, m
		printf "%d 100 pool msg=%s cmd=5/pread how=queued err=0 res=0 flags=0x2101\n", t + 400, m
		printf "%d %d run msg=%s cmd=5/pread how=pool err=0 res=0 flags=0xa101\n", t + 900, w, m
		printf "%d %d return msg=%s cmd=5 port=0x2/queue how=port err=0 res=16 flags=0xa101\n", t + 2000, w, m
		printf "%d 100 take msg=%s cmd=5 port=0x2/queue how=waitsys err=0 res=16 flags=0xf01\n", t + 3000, m
	}
}' >"$dir/big.trace"
timeout 120 $tl --svg "$dir/big.trace" >"$dir/big.svg" || fail "100,000 steps: not drawn in 120 s"
[ "$(count band "$dir/big.svg")" -eq 20000 ] || fail "the big trace has $(count band "$dir/big.svg") bands"
timeout 120 $tl --svg --from 50ms --to 52ms "$dir/big.trace" >"$dir/bigwin.svg" ||
	fail "100,000 steps, a window: not drawn in 120 s"
[ "$(count band "$dir/bigwin.svg")" -eq 401 ] || fail "the window has $(count band "$dir/bigwin.svg") bands"
timeout 120 rsvg-convert "$dir/bigwin.svg" -o "$dir/bigwin.png" && [ -s "$dir/bigwin.png" ] ||
	fail "the big trace's window does not render"
exit 0
