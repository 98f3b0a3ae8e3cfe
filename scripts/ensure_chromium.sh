#!/usr/bin/env bash
# Installs Debian's Chromium and its driver for the browser tests (tests/browser) when /usr/bin/chromium
# is missing. Idempotent and quiet; on failure it prints apt-get's output and exits non-zero.
set -euo pipefail

CHROMIUM=/usr/bin/chromium
LOCK=${TMPDIR:-/tmp}/revloop-ensure-chromium.lock

[ -x "$CHROMIUM" ] && exit 0

fail() { echo "ensure_chromium: $*" >&2; exit 1; }

command -v apt-get >/dev/null || fail "$CHROMIUM is missing and apt-get is not available: install Debian's chromium package by hand"
SUDO=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || fail "$CHROMIUM is missing; run as root or install sudo to let this script apt-get install chromium"
  SUDO=(sudo -n)
fi

exec 9>"$LOCK"
flock 9
[ -x "$CHROMIUM" ] && exit 0  # another run installed it while we waited

log=$(mktemp)
trap 'rm -f "$log"' EXIT
export DEBIAN_FRONTEND=noninteractive
if ! { "${SUDO[@]}" apt-get update -qq && \
       "${SUDO[@]}" apt-get install -y -qq --no-install-recommends chromium chromium-driver; } >"$log" 2>&1; then
  cat "$log" >&2
  fail "apt-get could not install chromium and chromium-driver (output above)"
fi
[ -x "$CHROMIUM" ] || fail "apt-get finished but $CHROMIUM is still missing"
