#!/bin/sh
# Install the build into a temporary root, check the layout, then build and run
# tests/downstream/main.c against it with nothing but pkg-config.
# Usage: run.sh BUILD_DIR SOURCE_DIR
set -eu
build=$1
src=$2
cc=${CC:-cc}
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

meson install -C "$build" --destdir "$root" --no-rebuild --quiet >/dev/null

prefix=$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="prefix"][0])')
libdir=$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="libdir"][0])')
case $libdir in /*) ;; *) libdir=$prefix/$libdir ;; esac
# A sanitized library needs its runtime in the program too.
sanitize=$(meson introspect "$build" --buildoptions |
	python3 -c 'import json,sys; print([o["value"] for o in json.load(sys.stdin) if o["name"]=="b_sanitize"][0])')
san_flags=
[ "$sanitize" = none ] || san_flags="-fsanitize=$sanitize"

fail() { echo "FAIL: $*" >&2; exit 1; }
for f in "$libdir/libidmefv2-core.so.0" "$libdir/pkgconfig/libidmefv2-core.pc" \
	"$prefix/include/idmefv2/idmefv2.h" "$prefix/include/idmefv2/message.h" \
	"$prefix/share/idmefv2/schemas/IDMEFv2-2.D.V08.schema"; do
	[ -e "$root$f" ] || fail "not installed: $f"
done
echo "layout ok: lib, include/idmefv2, pkgconfig, share/idmefv2/schemas"

export PKG_CONFIG_SYSROOT_DIR="$root"
export PKG_CONFIG_PATH="$root$libdir/pkgconfig"
flags=$(pkg-config --cflags --libs libidmefv2-core) || fail "pkg-config libidmefv2-core"
echo "pkg-config: $flags"
pkg-config --print-requires libidmefv2-core | grep -q '^json-c' || fail "json-c missing from Requires"
pkg-config --print-requires-private libidmefv2-core | grep -q '^libpcre2-8' ||
	fail "libpcre2-8 missing from Requires.private"

# shellcheck disable=SC2086
$cc $san_flags -std=c11 -Wall -Werror -o "$root/downstream" "$src/tests/downstream/main.c" $flags ||
	fail "downstream build"
out=$(LD_LIBRARY_PATH="$root$libdir" "$root/downstream") || fail "downstream run"
echo "$out"
echo "$out" | grep -q '^/Source/0/IP: "10.0.0.300" does not match the ipType pattern$' ||
	fail "unexpected downstream output"
# libidmefv2-transport: its own .pc, Requires libidmefv2-core.
[ -e "$root$libdir/pkgconfig/libidmefv2-transport.pc" ] || fail "not installed: libidmefv2-transport.pc"
pkg-config --print-requires libidmefv2-transport | grep -q '^libidmefv2-core' ||
	fail "libidmefv2-core missing from the Requires of libidmefv2-transport"
tflags=$(pkg-config --cflags --libs libidmefv2-transport) || fail "pkg-config libidmefv2-transport"
echo "pkg-config: $tflags"
# shellcheck disable=SC2086
$cc $san_flags -std=c11 -Wall -Werror -o "$root/downstream-transport" "$src/tests/downstream/transport.c" \
	$tflags || fail "downstream-transport build"
mkdir "$root/drop"
out=$(LD_LIBRARY_PATH="$root$libdir" "$root/downstream-transport" "$root/drop") || fail "downstream-transport run"
[ "$out" = "received downstream" ] || fail "unexpected downstream-transport output: $out"
echo "$out"
passed=2

# One more program per library that has its own pkg-config file: NAME SOURCE EXPECTED-OUTPUT-LINE.
downstream() {
	name=$1 source=$2 expect=$3
	[ -e "$root$libdir/pkgconfig/$name.pc" ] || fail "not installed: $name.pc"
	f=$(pkg-config --cflags --libs "$name") || fail "pkg-config $name"
	echo "pkg-config: $f"
	# shellcheck disable=SC2086
	$cc $san_flags -std=c11 -Wall -Werror -o "$root/downstream-$name" "$src/tests/downstream/$source" $f ||
		fail "downstream $name build"
	out=$(LD_LIBRARY_PATH="$root$libdir" "$root/downstream-$name") || fail "downstream $name run"
	echo "$out"
	echo "$out" | grep -qxF -- "$expect" || fail "unexpected $name output: $out"
	passed=$((passed + 1))
}
downstream libidmefv2-connectors connectors.c "downstream alert"
[ -e "$root$prefix/share/idmefv2/templates/suricata.json" ] || fail "not installed: share/idmefv2/templates/suricata.json"
if [ -e "$src/libmozdef/meson.build" ]; then
	downstream libmozdef mozdef.c "summary: missing"
fi
if [ -e "$src/libestreamer/meson.build" ]; then
	downstream libestreamer estreamer.c "flags 0x00000003, request of 16 bytes, type 2"
fi
echo "$passed passed, 0 failed"
