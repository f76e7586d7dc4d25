#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# du-bench.sh - the tree-walk challenge, timed side by side.
#
#   bench/du-bench.sh [--cold] [--runs N] DIR...
#
# Times msgport's du (examples/du/du) over each DIR against:
#   sync     its synchronous twin, examples/du/du-sync
#   pool     a 16-thread pthread-pool walker, bench/walk-pool -j 16
#   uring    an io_uring IORING_OP_STATX walker, bench/walk-uring
#   gnu-du   GNU du -s --apparent-size -l -B1 DIR
#   gdu      gdu -npsa --no-prefix DIR (parallel, Go)
#   bfs      bfs DIR -printf '%s\n'
#   find     find DIR -printf '%s\n'
# and, hot only, du and du-sync pinned to one CPU (taskset -c 0: du-pin,
# sync-pin); and msgport's lsr against its twin lsr-sync.  The peers are
# installed by bench/deps-bench.sh (never needed to build or test); one
# that is missing is left out.  Before anything is timed each program's
# total is checked against du's: the twin and the walkers print du's
# bytes and entries, GNU du, bfs and find also count DIR itself, and gdu
# counts a hard-linked file once (it has no option not to) and every
# directory as 4096 bytes, so its total is checked against find's sum
# computed that way.
#
# Programs take turns within each run (all of them, then again); medians
# of N runs; RATIO lines divide du's median by each other program's
# (lower is better) and by the best of them (du_..._vs_best).
# Hot: caches warmed by the check.  --cold: caches dropped before every
# timed walk (root only: echo 3 > /proc/sys/vm/drop_caches); then each
# program's row also shows, as medians over the runs, its own CPU time
# (user + system), the time all CPUs of the machine spent busy and in
# I/O wait meanwhile (/proc/stat: other load counts too), and the
# device's busy time, reads, the time a read took on average and the
# requests in flight on average, the queue's depth (/sys/block/DEV/stat):
# where the time of a cold walk goes.  LIMIT lines (cold only) take the least CPU time
# (user + system) that any of the walkers spent on the tree, spread over
# the machine's CPUs: the time a walker doing that work would need if it
# kept every CPU busy, and so the speed-up over the twin this machine
# allows such a walker; against it, du's (lsr's) own CPU time spread the
# same way, and how busy it kept the CPUs.  Not a proof: a walker that
# made the kernel work less would go beyond it; but cold the kernel's
# work is what the time goes to, and the twin's is no smaller (one
# thread waiting on every read spends more, not less).
# Run from the build directory.
set -euo pipefail

cold=0 runs=5
while [ $# -gt 0 ]; do
	case $1 in
	--cold) cold=1; shift ;;
	--runs) runs=$2; shift 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--cold] [--runs N] DIR..." >&2; exit 2; }
if [ $cold = 1 ] && [ ! -w /proc/sys/vm/drop_caches ]; then
	echo "du-bench: --cold needs root (drop_caches)" >&2
	exit 77
fi
mode=$([ $cold = 1 ] && echo cold || echo hot)
have() { command -v "$1" >/dev/null 2>&1; }

# run NAME DIR: the walk of program NAME over DIR, its output on stdout
run() {
	case $1 in
	du) examples/du/du "$2" ;;
	sync) examples/du/du-sync "$2" ;;
	du-pin) taskset -c 0 examples/du/du "$2" ;;
	sync-pin) taskset -c 0 examples/du/du-sync "$2" ;;
	pool) bench/walk-pool -j 16 "$2" ;;
	uring) bench/walk-uring "$2" ;;
	gnu-du) du -s --apparent-size -l -B1 "$2" ;;
	gdu) gdu -npsa --no-prefix "$2" ;;
	bfs) bfs "$2" -printf '%s\n' ;;
	find) find "$2" -printf '%s\n' ;;
	lsr) examples/lsr/lsr "$2" ;;
	lsr-sync) examples/lsr/lsr-sync "$2" ;;
	esac
}

progs=()
[ -x examples/du/du ] && progs+=(du)
progs+=(sync)
[ $cold = 0 ] && have taskset && [ -x examples/du/du ] && progs+=(du-pin sync-pin)
progs+=(pool)
[ -x bench/walk-uring ] && progs+=(uring)
have du && progs+=(gnu-du)
have gdu && progs+=(gdu)
have bfs && progs+=(bfs)
have find && progs+=(find)
lsrprogs=()
[ -x examples/lsr/lsr ] && lsrprogs=(lsr lsr-sync)
ref=$([ -x examples/du/du ] && echo du || echo sync)

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
sumlines() { awk '{s += $1; n++} END {printf "%.0f\t%d\n", s, n}'; }

# check NAME DIR BYTES ENTRIES ROOTSIZE UNIQUE: does NAME agree with du?
check() {
	local got want
	case $1 in
	gnu-du) got=$(run "$1" "$2" | cut -f1); want=$(($3 + $5)) ;;
	gdu) got=$(run "$1" "$2" | awk '{print $1}'); want=$6 ;;
	bfs|find) got=$(run "$1" "$2" | sumlines); want="$(($3 + $5))	$(($4 + 1))" ;;
	*) got=$(run "$1" "$2" | cut -f1,2); want="$3	$4" ;;
	esac
	[ "$got" = "$want" ] || echo "du-bench: $1 disagrees on $2: $got, not $want" >&2
}

# the device DIR is on, for its busy time and reads (empty: unknown)
blockdev() {
	local src
	src=$(df --output=source "$1" 2>/dev/null | tail -1)
	src=${src#/dev/}
	[ -e /sys/class/block/$src ] || return 0
	if [ -e /sys/class/block/$src/partition ]; then
		basename "$(readlink -f /sys/class/block/$src/..)"
	else
		echo "$src"
	fi
}
cpustat() { awk '/^cpu / {print $2+$3+$4+$7+$8+$9, $6}' /proc/stat; }	# busy iowait, ticks
# reads, busy ms, ms the reads took, ms of requests in flight (summed over them)
diskstat() { [ -n "$dev" ] && awk '{print $1, $10, $4, $11}' /sys/block/$dev/stat || echo 0 0 0 0; }

hz=$(getconf CLK_TCK)
TIMEFORMAT='%3U %3S'	# bash's time: user and system seconds
for dir in "$@"; do
	declare -A times=() cpu=() busy=() wait=() dbusy=() reads=() rlat=() depth=() med=()
	dev=$(blockdev "$dir")
	read -r bytes ents _ < <(run "$ref" "$dir" 2>/dev/null)
	rootsize=$(stat -c %s "$dir")
	unique=$(find "$dir" -printf '%D %i %n %y %s\n' |
	    awk '$4 == "d" {s += 4096; next} $3 > 1 {if (seen[$1 " " $2]++) next} {s += $5}
	        END {printf "%.0f", s}')
	for p in "${progs[@]}"; do			# warm-up, and check they agree
		check "$p" "$dir" "$bytes" "$ents" "$rootsize" "$unique" 2>&1 >/dev/null
	done
	if [ ${#lsrprogs[@]} -gt 0 ]; then
		cmp -s <(run lsr "$dir" 2>&1) <(run lsr-sync "$dir" 2>&1) ||
			echo "du-bench: lsr disagrees with lsr-sync on $dir" >&2
	fi
	for ((r = 0; r < runs; r++)); do
		for p in "${progs[@]}" "${lsrprogs[@]}"; do
			[ $cold = 1 ] && { sync; echo 3 > /proc/sys/vm/drop_caches; }
			read -r c0 w0 < <(cpustat); read -r r0 d0 l0 q0 < <(diskstat)
			t0=$(date +%s%N)
			if [ $cold = 1 ]; then	# its own CPU time too (user + system)
				own=$( { time run "$p" "$dir" >/dev/null 2>&1 || true; } 2>&1 )
				cpu[$p]+="$(awk -v u="${own% *}" -v s="${own#* }" 'BEGIN {printf "%d", (u + s) * 1000}') "
			else
				run "$p" "$dir" >/dev/null 2>&1 || true
			fi
			t1=$(date +%s%N)
			read -r c1 w1 < <(cpustat); read -r r1 d1 l1 q1 < <(diskstat)
			times[$p]+="$(( (t1 - t0) / 1000 )) "
			busy[$p]+="$(( (c1 - c0) * 1000 / hz )) " wait[$p]+="$(( (w1 - w0) * 1000 / hz )) "
			dbusy[$p]+="$((d1 - d0)) " reads[$p]+="$((r1 - r0)) "
			# microseconds a read took, and hundredths of requests in flight on average
			rlat[$p]+="$(( (l1 - l0) * 1000 / (r1 - r0 > 0 ? r1 - r0 : 1) )) "
			depth[$p]+="$(( (q1 - q0) * 100000 / ((t1 - t0) / 1000 > 0 ? (t1 - t0) / 1000 : 1) )) "
		done
	done
	echo "du over $dir ($ents entries), $mode cache, median of $runs runs, load $(cut -d' ' -f1-3 /proc/loadavg):"
	[ $cold = 1 ] && printf '  %-8s %10s %10s %14s %12s %12s %8s %8s %6s\n' "" "time" "own CPU" "machine busy" "iowait" "$dev busy" "reads" "us/read" "depth"
	for p in "${progs[@]}" "${lsrprogs[@]}"; do
		med[$p]=$(echo "${times[$p]}" | tr ' ' '\n' | grep . | median)
		if [ $cold = 1 ]; then
			awk -v n="$p" -v us="${med[$p]}" -v b="$(echo "${busy[$p]}" | tr ' ' '\n' | grep . | median)" \
			    -v c="$(echo "${cpu[$p]}" | tr ' ' '\n' | grep . | median)" \
			    -v w="$(echo "${wait[$p]}" | tr ' ' '\n' | grep . | median)" \
			    -v d="$(echo "${dbusy[$p]}" | tr ' ' '\n' | grep . | median)" \
			    -v r="$(echo "${reads[$p]}" | tr ' ' '\n' | grep . | median)" \
			    -v l="$(echo "${rlat[$p]}" | tr ' ' '\n' | grep . | median)" \
			    -v q="$(echo "${depth[$p]}" | tr ' ' '\n' | grep . | median)" \
			    'BEGIN {printf "  %-8s %8.3f s %8.3f s %12.3f s %10.3f s %10.3f s %8d %8d %6.2f\n", n, us / 1e6, c / 1e3, b / 1e3, w / 1e3, d / 1e3, r, l, q / 100}'
		else
			awk -v n="$p" -v us="${med[$p]}" 'BEGIN {printf "  %-8s %8.3f s\n", n, us / 1e6}'
		fi
	done
	tag=$(basename "$dir" | tr -c 'A-Za-z0-9_\n' _)
	if [ -n "${med[du]:-}" ]; then
		best=
		for b in "${progs[@]}"; do
			case $b in du|du-pin|sync-pin) continue ;; esac
			awk -v m="$mode" -v t="$tag" -v b="$b" -v x="${med[du]}" -v y="${med[$b]}" \
			    'BEGIN {printf "RATIO du_%s_%s_vs_%s %.3f\n", m, t, b, x / y}'
			[ -z "$best" ] || [ "${med[$b]%.*}" -lt "${med[$best]%.*}" ] && best=$b
		done
		awk -v m="$mode" -v t="$tag" -v b="$best" -v x="${med[du]}" -v y="${med[$best]}" \
		    'BEGIN {printf "RATIO du_%s_%s_vs_best %.3f (%s)\n", m, t, x / y, b}'
		[ -n "${med[du-pin]:-}" ] &&
			awk -v m="$mode" -v t="$tag" -v x="${med[du-pin]}" -v y="${med[sync-pin]}" \
			    'BEGIN {printf "RATIO du_%s_%s_pinned_vs_sync_pinned %.3f\n", m, t, x / y}'
	fi
	[ -n "${med[lsr]:-}" ] &&
		awk -v m="$mode" -v t="$tag" -v x="${med[lsr]}" -v y="${med[lsr-sync]}" \
		    'BEGIN {printf "RATIO lsr_%s_%s_vs_sync %.3f\n", m, t, x / y}'
	if [ $cold = 1 ]; then	# the machine's limit: the least CPU work seen, spread over every CPU
		for pair in du:sync lsr:lsr-sync; do
			a=${pair%%:*} twin=${pair#*:}
			[ -n "${med[$a]:-}" ] || continue
			least= lprog=
			case $a in du) group=("${progs[@]}") ;; *) group=("${lsrprogs[@]}") ;; esac
			for p in "${group[@]}"; do
				c=$(echo "${cpu[$p]}" | tr ' ' '\n' | grep . | median)
				[ -z "$least" ] || [ "${c%.*}" -lt "${least%.*}" ] && least=$c lprog=$p
			done
			awk -v n="$a" -v t="$tag" -v w="$twin" -v ncpu="$(nproc)" -v x="${med[$a]}" -v y="${med[$twin]}" \
			    -v c="$least" -v lp="$lprog" -v own="$(echo "${cpu[$a]}" | tr ' ' '\n' | grep . | median)" \
			    'BEGIN {f = c * 1e3 / ncpu; printf "LIMIT %s_cold_%s: the least CPU time, %.3f s (%s), on %d CPUs takes %.3f s: %.2fx faster than %s; %s is %.2fx (its own %.3f s of CPU kept the CPUs %.0f%% busy)\n", n, t, c / 1e3, lp, ncpu, f / 1e6, y / f, w, n, y / x, own / 1e3, own * 1e3 / ncpu / x * 100}'
		done
	fi
	unset times cpu busy wait dbusy reads rlat depth med
done
