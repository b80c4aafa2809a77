#!/usr/bin/env bash
# The browser tests drive Debian's Chromium through Playwright (no browser download: Playwright's
# own `playwright install` is never run). Install Debian's package when /usr/bin/chromium is missing.
set -euo pipefail

[ -x /usr/bin/chromium ] && exit 0

if ! command -v apt-get >/dev/null; then
  echo "ensure-chromium: /usr/bin/chromium missing and no apt-get to install it" >&2
  exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  command -v sudo >/dev/null || { echo "ensure-chromium: need root to install chromium" >&2; exit 1; }
  sudo="sudo"
fi
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq chromium fonts-liberation >/dev/null
[ -x /usr/bin/chromium ] || { echo "ensure-chromium: chromium did not install" >&2; exit 1; }
echo "ensure-chromium: installed $(/usr/bin/chromium --version 2>/dev/null)"
