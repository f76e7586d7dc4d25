#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# cold-idle.sh - where a cold walk leaves the CPUs idle, and why.
#
#   bench/cold-idle.sh [--runs N] CMD [ARG]...
#
# Runs CMD (a walker: examples/du/du /usr, bench/walk-pool /usr ...) N
# times (default 3) with the page cache dropped before each (root only),
# under `perf record -a` of the scheduler's switches and the block
# layer's request issues and completions, and prints per run:
#   walk      from the walker's first scheduling to its last
#   busy      CPUs the walker's threads kept busy: over the walk, and the
#             least and the median over its 50 ms slices (the first and
#             last slice left out: start and end)
#   idle      the time CPUs sat idle (switched to the idle task) during
#             the walk, in how many periods, and the median period
#   at idle   that idle time split by what stood at the moment a CPU went
#             idle: how many of the walker's threads were in state D
#             (waiting on a read, or on a buffer another thread reads),
#             and how many requests the device had in flight (issued,
#             not completed)
# A CPU that goes idle while the device has many requests in flight is
# waiting for the disk (more reads at once, sooner, would help); one that
# goes idle with few in flight had no work to run (a deeper frontier, or
# a cheaper hand-off, would help).  Needs perf and python3 (Debian:
# linux-perf, python3), which it installs if missing, for the benchmark only.
set -eu

runs=3
if [ "${1:-}" = --runs ]; then
	runs=$2
	shift 2
fi
if [ $# -eq 0 ]; then
	echo "usage: $0 [--runs N] CMD [ARG]..." >&2
	exit 2
fi
if [ "$(id -u)" -ne 0 ]; then
	echo "$0: dropping the page cache needs root" >&2
	exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
need=
command -v perf >/dev/null 2>&1 || need="$need linux-perf"
command -v python3 >/dev/null 2>&1 || need="$need python3"
# shellcheck disable=SC2086 # a list of package names
[ -z "$need" ] || sh "$here/../scripts/deps.sh" $need
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

for ((run = 1; run <= runs; run++)); do
	sync
	echo 3 >/proc/sys/vm/drop_caches
	# shellcheck disable=SC2016 # the inner shell expands them
	perf record -q -a -o "$tmp/perf.data" -e sched:sched_switch \
	    -e block:block_rq_issue -e block:block_rq_complete -- \
	    sh -c 'echo $$ >"$0"; exec "$@" >/dev/null' "$tmp/pid" "$@" 2>"$tmp/err" ||
	    { cat "$tmp/err" >&2; exit 1; }
	perf script -i "$tmp/perf.data" -F pid,tid,cpu,time,event,trace 2>/dev/null >"$tmp/events"
	python3 - "$tmp/events" "$(cat "$tmp/pid")" "$run" <<'EOF'
import collections, re, statistics, sys

events, root, run = sys.argv[1], sys.argv[2], sys.argv[3]
line = re.compile(r'\s*(\d+)/(\d+)\s+\[(\d+)\]\s+([\d.]+):\s+\S+:(\w+):\s*(.*)')
switch = re.compile(r'prev_comm=.* prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=.* next_pid=(\d+) ')
rows = []
ours = set()				# the walker's threads
for l in open(events):
    m = line.match(l)
    if not m:
        continue
    pid, tid, cpu, t, ev, tr = m.groups()
    rows.append((int(cpu), float(t), ev, tr))
    if ev == 'sched_switch' and pid == root:
        ours.add(tid)
SLICE = 0.05
state = {}				# tid -> its last state: 'run', 'D', 'S' ...
running = {}				# cpu -> when one of ours started running there
idle_at = {}				# cpu -> (when it went idle, threads in D, requests in flight)
busy = collections.Counter()
periods = []
byd = collections.Counter()
byq = collections.Counter()
inflight = 0
first = last = None

def account(t0, t1):
    b0, b1 = int((t0 - first) / SLICE), int((t1 - first) / SLICE)
    if b0 == b1:
        busy[b0] += t1 - t0
        return
    busy[b0] += first + (b0 + 1) * SLICE - t0
    for b in range(b0 + 1, b1):
        busy[b] += SLICE
    busy[b1] += t1 - (first + b1 * SLICE)

for cpu, t, ev, tr in rows:
    if ev == 'block_rq_issue':
        inflight += 1
        continue
    if ev == 'block_rq_complete':
        inflight = max(0, inflight - 1)
        continue
    m = switch.search(tr)
    if not m:
        continue
    prev, pstate, nxt = m.groups()
    if nxt in ours and first is None:
        first = t
    if first is None:
        continue
    if prev in ours:
        state[prev] = pstate
        if cpu in running:
            account(running.pop(cpu), t)
        last = t
    if nxt in ours:
        state[nxt] = 'run'
        running[cpu] = t
    if nxt == '0':
        d = sum(1 for s in state.values() if s.startswith('D'))
        idle_at[cpu] = (t, d, inflight)
    elif prev == '0' and cpu in idle_at:
        t0, d, q = idle_at.pop(cpu)
        periods.append(t - t0)
        byd['0' if d == 0 else '1-7' if d < 8 else '8-15' if d < 16 else '16+'] += t - t0
        byq['0-3' if q < 4 else '4-9' if q < 10 else '10+'] += t - t0

walk = last - first
slices = [busy[b] / SLICE for b in range(1, int(walk / SLICE))]
idle = sum(periods)
print("run %s: walk %.3f s, busy %.2f CPUs (50 ms slices: least %.2f, median %.2f), "
      "idle %.3f s in %d periods (median %d us)" %
      (run, walk, sum(busy.values()) / walk, min(slices) if slices else 0,
       statistics.median(slices) if slices else 0, idle, len(periods),
       statistics.median(periods) * 1e6 if periods else 0))
share = lambda c, k: "%s %.0f%%" % (k, 100 * c[k] / idle if idle else 0)
print("  at idle, threads in D: " +
      ", ".join(share(byd, k) for k in ('0', '1-7', '8-15', '16+')) +
      "; requests in flight: " + ", ".join(share(byq, k) for k in ('0-3', '4-9', '10+')))
EOF
done
