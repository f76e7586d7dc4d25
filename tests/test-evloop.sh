#!/bin/sh
# SPDX-License-Identifier: BSD-2-Clause
# examples/evloop: the replies are taken in the application's own libevent
# loop, in the order their causes force: the sleep's reply arms the
# application's timer, whose write completes the read.
set -u
out=$(timeout 30 examples/evloop/evloop) || { echo "FAIL: evloop exited $?"; exit 1; }
echo "$out"
line() { echo "$out" | grep -n -x -- "$1" | cut -d: -f1; }
a=$(line "reply: the aborted read, Operation canceled")
n=$(line "reply: nanosleep, error 0")
t=$(line "application timer: writing to the pipe")
r=$(line "reply: read, 4 bytes: ping")
e=$(line "all messages back: the loop has ended")
[ -n "$a" ] && [ -n "$n" ] && [ -n "$t" ] && [ -n "$r" ] && [ -n "$e" ] ||
	{ echo "FAIL: a reply is missing"; exit 1; }
[ "$n" -lt "$t" ] && [ "$t" -lt "$r" ] && [ "$r" -lt "$e" ] && [ "$a" -lt "$e" ] ||
	{ echo "FAIL: the replies came out of order"; exit 1; }
[ "$(echo "$out" | grep -c '^sent .*: EASYNC$')" -eq 3 ] || { echo "FAIL: not 3 sent"; exit 1; }
exit 0
