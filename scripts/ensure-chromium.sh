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

cannot() {
  {
    echo "ensure-chromium: /usr/bin/chromium is missing and $1."
    echo "  Debian/Ubuntu: sudo apt-get install chromium fonts-liberation"
    echo "  elsewhere (macOS): install Chromium or Chrome and set CHROMIUM to its binary, e.g."
    echo "  CHROMIUM='/Applications/Chromium.app/Contents/MacOS/Chromium' make test"
  } >&2
  exit 1
}
command -v apt-get >/dev/null || cannot "there is no apt-get to install it"
sudo=""
if [ "$(id -u)" != 0 ]; then
  # Only a sudo that needs no password: make test never stops to ask.
  sudo -n true 2>/dev/null || cannot "installing it needs root"
  sudo="sudo -n"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-liberation >/dev/null
[ -x /usr/bin/chromium ] || { echo "ensure-chromium: chromium did not install" >&2; exit 1; }
echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null)"
