#!/bin/sh
# The whole test suite, as CI runs it: install packages, build with gcc and
# -Werror and run every test, then build again under AddressSanitizer and
# UndefinedBehaviorSanitizer and run every test again. Ends with one line
# "N passed, N failed" over both runs.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
echo "== installing packages"
$SUDO apt-get update -qq
# shellcheck disable=SC2046
$SUDO apt-get install -y -qq --no-install-recommends $(grep -v '^#' scripts/debian-packages.txt) >/dev/null

export CC=${CC:-gcc}
status=0
run() {
	dir=$1
	shift
	echo "== $dir: meson setup $*"
	rm -rf "$dir"
	meson setup "$dir" -Dwerror=true -Dtests=enabled "$@" >"$dir.setup.log" 2>&1 || {
		cat "$dir.setup.log"
		return 1
	}
	ninja -C "$dir" || return 1
	meson test -C "$dir" --print-errorlogs --num-processes 2 || return 1
}

run build-ci || status=1
UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 ASAN_OPTIONS=detect_leaks=1 \
	run build-ci-asan -Db_sanitize=address,undefined -Dbuildtype=debug || status=1

python3 - build-ci build-ci-asan <<'PY'
import json, sys, os
passed = failed = 0
for d in sys.argv[1:]:
    log = os.path.join(d, 'meson-logs', 'testlog.json')
    if not os.path.exists(log):
        failed += 1
        continue
    for line in open(log):
        r = json.loads(line)
        if r['result'] in ('OK', 'EXPECTEDFAIL'):
            passed += 1
        elif r['result'] != 'SKIP':
            failed += 1
print('%d passed, %d failed' % (passed, failed))
PY
exit $status
