#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
# The generated systemd units of idmefv2-connector: each runs as the dedicated
# user (never root) with no capability and ProtectSystem=strict; the
# sysusers.d file creates that user. With systemd-analyze at hand, each unit
# also passes `verify` (its ExecStart pointed at the built daemon) and
# `security --offline=true` with an exposure of at most 2.0.
# Usage: test-units.sh CONNECTOR_BINARY SYSUSERS_FILE UNIT...
set -u

bin=$1 sysusers=$2
shift 2
fail=0
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT

bad() {
	echo "FAIL: $*"
	fail=1
}

user=$(awk '$1 == "u" { print $2; exit }' "$sysusers")
[ -n "$user" ] && [ "$user" != root ] || bad "$sysusers defines no user other than root"

[ $# -gt 0 ] || bad "no unit given"
for unit in "$@"; do
	name=$(basename "$unit")
	grep -qx "User=$user" "$unit" || bad "$name: no User=$user"
	grep -qx "Group=$user" "$unit" || bad "$name: no Group=$user"
	grep -Eq '^(User|Group)=(root|0)$' "$unit" && bad "$name: runs as root"
	grep -qx 'CapabilityBoundingSet=' "$unit" || bad "$name: capabilities not emptied (CapabilityBoundingSet=)"
	grep -Eq '^AmbientCapabilities=.+' "$unit" && bad "$name: ambient capabilities"
	for line in ProtectSystem=strict NoNewPrivileges=yes PrivateTmp=yes ProtectHome=yes UMask=0027 \
	    'SystemCallFilter=@system-service' MemoryDenyWriteExecute=yes; do
		grep -qx "$line" "$unit" || bad "$name: no $line"
	done
	if command -v systemd-analyze >/dev/null 2>&1; then
		sed "s#^\(ExecStart[A-Za-z]*=\)[^ ]*idmefv2-connector #\1$bin #" "$unit" >"$tmp/$name"
		out=$(systemd-analyze verify --man=no "$tmp/$name" 2>&1) || bad "$name: systemd-analyze verify: $out"
		score=$(systemd-analyze security --offline=true "$tmp/$name" 2>&1 | sed -n 's/.*Overall exposure level for [^:]*: \([0-9.]*\).*/\1/p')
		echo "$name: exposure $score"
		[ -n "$score" ] || bad "$name: no exposure score"
		[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || bad "$name: exposure $score over 2.0"
	else
		echo "systemd-analyze not installed: verify and security not run"
	fi
done
[ $fail -eq 0 ] && echo "OK: $# units"
exit $fail
