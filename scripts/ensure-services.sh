#!/usr/bin/env bash
# Start what the tests (or `make run`) need when it does not answer: Redis, and PostgreSQL
# unless called with --redis-only. Installs them from Debian's packages when missing.
set -euo pipefail

redis_only=0
[ "${1:-}" = "--redis-only" ] && redis_only=1

# Install Debian packages, only where that can work: as root, with apt-get. Anywhere else, say
# what to install (or how to point the tests at servers that already run) and stop.
apt_install() {
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    {
      echo "ensure-services: $* is not installed or not running, and this script installs"
      echo "packages only as root with apt-get. Install and start it yourself:"
      echo "  Debian/Ubuntu: sudo apt-get install $*"
      echo "  macOS (Homebrew): brew install ${BREW_NAMES[*]:-$*} && brew services start ${BREW_NAMES[0]:-$1}"
      echo "or use servers that already run: TEST_POSTGRES_URL=postgresql://user@host:5432"
      echo "and TEST_REDIS_URL=redis://host:6379/15 (make test then starts nothing)."
    } >&2
    exit 1
  fi
  if [ -z "${APT_UPDATED:-}" ]; then apt-get update -qq; APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

redis_answers() {
  python3 - <<'PY'
import socket, sys
try:
    with socket.create_connection(("127.0.0.1", 6379), timeout=1) as s:
        s.sendall(b"PING\r\n")
        sys.exit(0 if s.recv(16).startswith(b"+PONG") else 1)
except OSError:
    sys.exit(1)
PY
}

if [ -n "${TEST_REDIS_URL:-}" ] && [ "$redis_only" = 0 ]; then
  echo "ensure-services: TEST_REDIS_URL is set; using that Redis"
elif ! redis_answers; then
  BREW_NAMES=(redis)
  command -v redis-server >/dev/null || apt_install redis-server
  # Nothing is kept on disk (--save ""); the directory only holds its log.
  if [ "$(id -u)" = 0 ]; then dir=/var/lib/redis; else dir="${TMPDIR:-/tmp}/lunas-redis"; fi
  mkdir -p "$dir"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir "$dir" --logfile "$dir/lunas.log"
  for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
  redis_answers || { echo "ensure-services: Redis did not start" >&2; exit 1; }
  echo "ensure-services: started Redis on 127.0.0.1:6379"
fi

[ "$redis_only" = 1 ] && exit 0

pg_answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if [ -n "${TEST_POSTGRES_URL:-}" ]; then
  echo "ensure-services: TEST_POSTGRES_URL is set; using that PostgreSQL"
elif ! pg_answers; then
  BREW_NAMES=(postgresql@16)
  { command -v pg_ctlcluster >/dev/null && [ "$(id -u)" = 0 ]; } || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 100); do pg_answers && break; sleep 0.1; done
  pg_answers || { echo "ensure-services: PostgreSQL did not start" >&2; exit 1; }
  echo "ensure-services: started PostgreSQL $version on 127.0.0.1:5432"
fi
