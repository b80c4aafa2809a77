#!/usr/bin/env bash
# The developer site's snippets are run by the tests in every language they are shown in:
# curl, Python (the venv), Node (fetch: Node 18 or newer) and PHP with ext-curl. Install the
# missing ones from Debian's packages, as scripts/ensure-chromium.sh does for the browser.
set -euo pipefail

missing=()
command -v curl >/dev/null || missing+=(curl)
if ! command -v node >/dev/null || ! node -e 'process.exit(typeof fetch === "function" ? 0 : 1)'; then
  missing+=(nodejs)
fi
if ! command -v php >/dev/null || ! php -r 'exit(function_exists("curl_init") ? 0 : 1);'; then
  missing+=(php-cli php-curl)
fi
[ ${#missing[@]} -eq 0 ] && exit 0

source "$(dirname "$0")/apt-install.sh"
apt_install ensure-snippet-runtimes "${missing[@]}"
echo "ensure-snippet-runtimes: installed ${missing[*]}"
