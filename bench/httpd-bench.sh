#!/usr/bin/env bash
# SPDX-License-Identifier: BSD-2-Clause
# httpd-bench.sh - examples/httpd under wrk, side by side with nginx and
# a libevent evhttp server of the same shape (bench/httpd-evhttp).
#
#   bench/httpd-bench.sh [--runs N] [--secs S] [--plug]
#
# One root with a 1 KiB, a 64 KiB and a 1 MiB file; each server with 1
# and 2 threads (nginx: worker processes; sendfile on, access log off,
# keep-alive on, not a daemon, its own temporary prefix), all on
# 127.0.0.1.  For each file, connection count (1, 64, 512) and thread
# count, the three take turns, N runs (3) of S seconds (5) each, wrk
# with 2 threads (1 for 1 connection: wrk wants a connection per
# thread).  Prints the medians of requests/s and p99 latency, and RATIO
# lines: rps (higher is better) and p99 (lower is better) of httpd
# against each baseline.  --plug adds httpd -P (each batch of replies
# plugged, plugsys(3)) as a fourth server, "httpdP", with its own RATIO
# lines.  Installs wrk and nginx-light with apt-get if
# they are missing (the benchmark's own needs, never the build's).
# Run from the build directory after `make examples/httpd/httpd
# bench/httpd-evhttp` (or `make httpd-bench`).
set -uo pipefail	# not -e: one failed wrk run counts 0, the rest go on

runs=3 secs=5 subjects=(httpd)
while [ $# -gt 0 ]; do
	case $1 in
	--runs) runs=$2; shift 2 ;;
	--secs) secs=$2; shift 2 ;;
	--plug) subjects=(httpd httpdP); shift ;;
	*) echo "usage: $0 [--runs N] [--secs S] [--plug]" >&2; exit 2 ;;
	esac
done
for p in examples/httpd/httpd bench/httpd-evhttp; do
	[ -x $p ] || { echo "httpd-bench: build $p first" >&2; exit 2; }
done
need=()
command -v wrk >/dev/null || need+=(wrk)
command -v nginx >/dev/null || [ -x /usr/sbin/nginx ] || need+=(nginx-light)
if [ ${#need[@]} -gt 0 ]; then
	apt-get install -y -q "${need[@]}" >/dev/null 2>&1 ||
		{ apt-get update -q >/dev/null && apt-get install -y -q "${need[@]}" >/dev/null; }
fi
nginx=$(command -v nginx || echo /usr/sbin/nginx)

tmp=$(mktemp -d /tmp/msgport-httpd-bench-XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT
chmod 755 "$tmp"			# nginx's workers run as nobody
mkdir -m 755 "$tmp/root"
head -c 1024 /dev/urandom >"$tmp/root/1k"
head -c 65536 /dev/urandom >"$tmp/root/64k"
head -c 1048576 /dev/urandom >"$tmp/root/1m"
chmod 644 "$tmp"/root/*

# start NAME THREADS PORT: every server of every kind runs the whole time
start() {
	local name=$1 t=$2 port=$3
	case $name in
	httpd) examples/httpd/httpd -p "$port" -t "$t" "$tmp/root" >"$tmp/httpd$t.out" & ;;
	httpdP) examples/httpd/httpd -P -p "$port" -t "$t" "$tmp/root" >"$tmp/httpdP$t.out" & ;;
	evhttp) bench/httpd-evhttp -p "$port" -t "$t" "$tmp/root" & ;;
	nginx)
		local pre=$tmp/nginx$t
		mkdir -p "$pre/tmp"
		cat >"$pre/nginx.conf" <<-EOF
		worker_processes $t;
		pid $pre/nginx.pid;
		error_log $pre/error.log;
		events { worker_connections 4096; }
		http {
			access_log off;
			sendfile on;
			keepalive_timeout 65;
			keepalive_requests 100000000;
			default_type application/octet-stream;
			client_body_temp_path $pre/tmp/body;
			proxy_temp_path $pre/tmp/proxy;
			fastcgi_temp_path $pre/tmp/fastcgi;
			uwsgi_temp_path $pre/tmp/uwsgi;
			scgi_temp_path $pre/tmp/scgi;
			server { listen 127.0.0.1:$port reuseport; root $tmp/root; }
		}
		EOF
		"$nginx" -p "$pre" -c "$pre/nginx.conf" -g 'daemon off;' 2>/dev/null & ;;
	esac
	pids+=($!)
	case $name in httpd*) httpd_pid[$name$t]=$! ;; esac
}
declare -A httpd_pid=()

# httpd's SIGUSR1 line: descriptors, messages in flight, connections
httpd_stats() {	# NAME THREADS
	kill -USR1 "${httpd_pid[$1$2]}"
	sleep 1
	tail -n 1 "$tmp/$1$2.out"
}

port_of() {	# NAME THREADS
	local base
	case $1 in httpd) base=18100 ;; nginx) base=18200 ;; evhttp) base=18300 ;; httpdP) base=18400 ;; esac
	echo $((base + $2))
}

kinds=("${subjects[@]}" nginx evhttp)
declare -A start_stats=()
declare -A mr=() mp=()
for t in 1 2; do
	for k in "${kinds[@]}"; do start $k $t "$(port_of $k $t)"; done
done
for t in 1 2; do		# every server answers before anything is timed
	for k in "${kinds[@]}"; do
		for _ in $(seq 100); do
			wrk -t1 -c1 -d1s "http://127.0.0.1:$(port_of $k $t)/1k" >/dev/null 2>&1 && break
			sleep 0.1
		done
	done
done

for t in 1 2; do
	for h in "${subjects[@]}"; do start_stats[$h$t]=$(httpd_stats $h $t); done
done

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# one wrk run: "RPS P99MS"
load() {	# URL CONNS
	local wt=2 out
	[ "$2" -lt 2 ] && wt=1
	out=$(wrk -t$wt -c"$2" -d"${secs}s" --latency "$1" 2>&1)
	echo "$out" | awk '
		/^Requests\/sec:/ { rps = $2 }
		/^ +99%/ { v = $2; u = v; sub(/[a-z]+$/, "", v); sub(/^[0-9.]+/, "", u)
			p99 = u == "us" ? v / 1000 : u == "s" ? v * 1000 : u == "m" ? v * 60000 : v }
		END { printf "%s %s\n", rps == "" ? 0 : rps, p99 == "" ? 0 : p99 }'
}

for f in 1k 64k 1m; do
	for c in 1 64 512; do
		for t in 1 2; do
			declare -A rps=() p99=()
			for r in $(seq "$runs"); do
				# the order turns each run, so no server always goes first
				for i in "${!kinds[@]}"; do
					k=${kinds[$(( (i + r) % ${#kinds[@]} ))]}
					read -r a b < <(load "http://127.0.0.1:$(port_of $k $t)/$f" "$c")
					rps[$k]+="$a "
					p99[$k]+="$b "
				done
			done
			line="file=$f conns=$c threads=$t"
			for k in "${kinds[@]}"; do
				mr[$k]=$(echo ${rps[$k]} | tr ' ' '\n' | median)
				mp[$k]=$(echo ${p99[$k]} | tr ' ' '\n' | median)
				line+=" $k: $(printf '%.0f' "${mr[$k]:-0}") req/s p99 ${mp[$k]:-0} ms;"
			done
			echo "$line"
			for h in "${subjects[@]}"; do
				for k in nginx evhttp; do
					awk -v a="${mr[$h]}" -v b="${mr[$k]}" -v n="$h-rps-vs-$k/$f/c$c/t$t" \
					    'BEGIN { printf "RATIO %s %.2f\n", n, (b > 0 ? a / b : 0) }'
					awk -v a="${mp[$h]}" -v b="${mp[$k]}" -v n="$h-p99-vs-$k/$f/c$c/t$t" \
					    'BEGIN { printf "RATIO %s %.2f\n", n, (b > 0 ? a / b : 0) }'
				done
			done
			unset rps p99
		done
	done
done

# Nothing leaks: httpd's descriptors and messages in flight as they were
# before the first timed run, once the last connections have closed.
for t in 1 2; do
	for h in "${subjects[@]}"; do
		echo "$h -t $t before: ${start_stats[$h$t]}"
		echo "$h -t $t after:  $(httpd_stats $h $t)"
	done
done
