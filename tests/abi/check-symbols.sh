#!/bin/sh
# The symbols a library exports are exactly the functions its public headers
# declare with the export macro: nothing internal leaks, nothing declared is missing.
# Usage: check-symbols.sh LIBRARY.so INCLUDE_DIR/SUBDIR MACRO
set -eu
lib=$1
hdrs=$2
macro=$3
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRVW]$/ {print $3}' | sed 's/@.*//' | sort -u > "$tmp/exported"
# A declaration: MACRO <return type> [*]name(  possibly over several lines.
grep -hv '^#' "$hdrs"/*.h | tr '\n' ' ' | grep -o "$macro[^;(]*(" |
	sed -E 's/\($//; s/.*[ *]([A-Za-z_][A-Za-z0-9_]*)$/\1/' | sort -u > "$tmp/declared"
status=0
if ! diff -u "$tmp/declared" "$tmp/exported" > "$tmp/diff"; then
	echo "exported symbols differ from the headers (- declared only, + exported only):" >&2
	cat "$tmp/diff" >&2
	status=1
fi
n=$(wc -l < "$tmp/declared")
if [ $status -eq 0 ]; then echo "$n passed, 0 failed"; else echo "0 passed, 1 failed"; fi
exit $status
