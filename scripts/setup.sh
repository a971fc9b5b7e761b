#!/bin/sh
# Install the Debian 12 packages the project needs, then configure and build
# into ./build. Safe to run again.
set -eu
cd "$(dirname "$0")/.."
if [ "$(id -u)" -eq 0 ]; then SUDO=; else SUDO=sudo; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2046
$SUDO apt-get install -y -qq --no-install-recommends $(grep -v '^#' scripts/debian-packages.txt) >/dev/null
[ -d build ] || meson setup build >/dev/null
ninja -C build
