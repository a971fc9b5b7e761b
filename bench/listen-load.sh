#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# idmefv2 listen under load, measured with wrk (Debian package wrk) against
# nginx answering a static 204 (Debian package nginx-light or nginx) in the
# same run: for each client count, nginx, then idmefv2 listen with standard
# output to /dev/null, then idmefv2 listen --out DIR, back to back. One valid
# message per POST. Prints requests/s, refused (non-2xx answers and socket
# errors), p99 latency and the listener's RSS before, during and after; the
# ratio listen/nginx per client count; then the slowloris check
# (bench-slowloris: 256 connections trickling a header byte per second while a
# normal client posts once a second).
#
#   bench/listen-load.sh [-b BUILD_DIR] [-d SECONDS] [-c "8 64 256 1000"] [-t WRK_THREADS] [--no-out]
#
# Run from the source tree; nothing here asserts a speed.
set -euo pipefail

build=build
duration=10
clients="8 64 256 1000"
threads=2
with_out=1
while [ $# -gt 0 ]; do
	case "$1" in
	-b) build=$2; shift 2 ;;
	-d) duration=$2; shift 2 ;;
	-c) clients=$2; shift 2 ;;
	-t) threads=$2; shift 2 ;;
	--no-out) with_out=0; shift ;;
	*) echo "usage: $0 [-b BUILD_DIR] [-d SECONDS] [-c CLIENT_COUNTS] [-t WRK_THREADS] [--no-out]" >&2; exit 2 ;;
	esac
done

idmefv2=$build/tools/idmefv2
slowloris=$build/bench/bench-slowloris
msg=${MSG:-examples/messages/badge-reader.json}
export MSG=$msg
for prog in wrk nginx; do
	command -v $prog >/dev/null || PATH=$PATH:/usr/sbin
	command -v $prog >/dev/null || { echo "$0: $prog not found (apt-get install wrk nginx-light)" >&2; exit 2; }
done
[ -x "$idmefv2" ] || { echo "$0: $idmefv2 not built" >&2; exit 2; }

work=$(mktemp -d /tmp/idmefv2-bench-listen.XXXXXX)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	wait 2>/dev/null || true
	rm -rf "$work"
}
trap cleanup EXIT
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

free_port() {
	python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_port() {
	for _ in $(seq 100); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "$0: nothing listens on port $1" >&2
	return 1
}

rss_kb() {
	awk '/^VmRSS/ { print $2 }' "/proc/$1/status" 2>/dev/null || echo "-"
}

# The two-line nginx configuration: one worker (nginx's default), a static 204.
nginx_conf() {
	printf 'events { worker_connections 4096; }\nhttp { access_log off; server { listen 127.0.0.1:%s; location / { return 204; } } }\n' "$1" >"$work/nginx.conf"
}

# wrk against port $2 with script $3; the label $1; pid $4 to sample RSS from.
run_wrk() {
	local label=$1 port=$2 script=$3 pid=$4 c=$5
	local before during after out
	before=$(rss_kb "$pid")
	wrk -t"$threads" -c"$c" -d"${duration}s" --latency -s "$script" "http://127.0.0.1:$port/" >"$work/wrk.out" 2>&1 &
	local wrk_pid=$!
	sleep $((duration / 2))
	during=$(rss_kb "$pid")
	wait $wrk_pid
	after=$(rss_kb "$pid")
	out=$work/wrk.out
	local rps total non2xx sockerr p99
	rps=$(awk '/^Requests\/sec/ { printf "%d", $2 }' "$out")
	total=$(awk '/requests in/ { print $1 }' "$out")
	non2xx=$(awk '/Non-2xx/ { print $NF }' "$out")
	sockerr=$(awk -F'[ ,]+' '/Socket errors/ { print $4 + $6 + $8 + $10 }' "$out")
	p99=$(awk '$1 == "99%" { print $2 }' "$out")
	printf '| %s | %s | %s | %s | %s | %s | %s / %s / %s |\n' "$label" "$c" "$rps" "$total" \
		"$(( ${non2xx:-0} + ${sockerr:-0} ))" "$p99" "$before" "$during" "$after"
	echo "$rps" >"$work/last_rps"
}

start_listen() {
	local port=$1; shift
	"$idmefv2" listen -q "$@" "http://127.0.0.1:$port/" >/dev/null 2>"$work/listen.err" &
	listen_pid=$!
	pids+=("$listen_pid")
	wait_port "$port"
}

stop_listen() {
	kill -TERM "$listen_pid"
	wait "$listen_pid" || echo "idmefv2 listen exited with status $?" >&2
	tail -n 1 "$work/listen.err" | sed 's/^/    listen: /' >&2
}

echo "# $(date -u +%FT%TZ) $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg); wrk -t$threads -d${duration}s; message $msg"
echo
echo "| server | clients | requests/s | requests | refused (non-2xx + socket errors) | p99 | RSS kB before / during / after |"
echo "|---|---:|---:|---:|---:|---:|---|"
ratios=()
for c in $clients; do
	port=$(free_port)
	nginx_conf "$port"
	nginx -p "$work" -c "$work/nginx.conf" -g "daemon off; pid $work/nginx.pid; error_log stderr;" &
	ngx=$!
	pids+=("$ngx")
	wait_port "$port"
	worker=$(pgrep -P "$ngx" | head -n 1 || echo "$ngx")
	run_wrk "nginx static 204" "$port" bench/wrk-post.lua "$worker" "$c"
	nginx_rps=$(cat "$work/last_rps")
	kill "$ngx"; wait "$ngx" 2>/dev/null || true

	port=$(free_port)
	start_listen "$port"
	run_wrk "idmefv2 listen > /dev/null" "$port" bench/wrk-post.lua "$listen_pid" "$c"
	listen_rps=$(cat "$work/last_rps")
	stop_listen
	ratios+=("$c clients: listen/nginx = $(awk -v a="$listen_rps" -v b="$nginx_rps" 'BEGIN { printf "%.2f", a / b }')")

	if [ $with_out = 1 ]; then
		port=$(free_port)
		rm -rf "$work/out"
		start_listen "$port" --out "$work/out"
		run_wrk "idmefv2 listen --out DIR" "$port" bench/wrk-post-unique.lua "$listen_pid" "$c"
		stop_listen
		echo "    --out: $(find "$work/out" -name '*.json' | wc -l) files" >&2
		rm -rf "$work/out"
	fi
done
echo
for r in "${ratios[@]}"; do echo "$r"; done

if [ -x "$slowloris" ]; then
	echo
	port=$(free_port)
	start_listen "$port"
	"$slowloris" "$port" "$msg" 256 10 || true
	stop_listen
fi
