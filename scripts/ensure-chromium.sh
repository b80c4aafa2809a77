#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (no browser download: Playwright's
# own `playwright install` is never run). Install Debian's package when /usr/bin/chromium is missing;
# CHROMIUM names another binary (macOS, or a Chrome of your own).
set -euo pipefail

[ -x /usr/bin/chromium ] && exit 0

if [ -n "${CHROMIUM:-}" ]; then
  [ -x "$CHROMIUM" ] && exit 0
  echo "ensure-chromium: CHROMIUM=$CHROMIUM is not an executable" >&2
  exit 1
fi

source "$(dirname "$0")/apt-install.sh"
apt_install ensure-chromium chromium fonts-liberation || {
  echo "  elsewhere (macOS): install Chromium or Chrome and set CHROMIUM to its binary, e.g." >&2
  echo "  CHROMIUM='/Applications/Chromium.app/Contents/MacOS/Chromium' make test" >&2
  exit 1
}
[ -x /usr/bin/chromium ] || { echo "ensure-chromium: chromium did not install" >&2; exit 1; }
echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null)"
