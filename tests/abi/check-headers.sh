#!/bin/sh
# Each public header compiles on its own, as C11 and as C++.
# Usage: check-headers.sh INCLUDE_DIR [EXTRA_INCLUDE_DIR...]
# Checks INCLUDE_DIR/$HEADER_SUBDIR/*.h (HEADER_SUBDIR: idmefv2 unless set, e.g.
# mozdef or estreamer). Extra directories hold headers of lower layers that
# INCLUDE_DIR's headers include.
set -eu
inc=$1
shift
extra=
for d in "$@"; do
	extra="$extra -I$d"
done
cc=${CC:-cc}
cxx=${CXX:-c++}
flags=$(pkg-config --cflags json-c)
pass=0
failed=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sub=${HEADER_SUBDIR:-idmefv2}
for h in "$inc"/"$sub"/*.h; do
	name=$sub/$(basename "$h")
	printf '#include <%s>\n' "$name" > "$tmp/t.c"
	cp "$tmp/t.c" "$tmp/t.cpp"
	# shellcheck disable=SC2086
	if $cc -std=c11 -Wall -Wextra -Werror -fsyntax-only -I"$inc" $extra $flags "$tmp/t.c" &&
		$cxx -std=c++11 -Wall -Wextra -Werror -fsyntax-only -I"$inc" $extra $flags "$tmp/t.cpp"; then
		pass=$((pass + 1))
	else
		echo "FAIL: $name does not compile alone" >&2
		failed=$((failed + 1))
	fi
done
echo "$pass passed, $failed failed"
[ "$failed" -eq 0 ]
