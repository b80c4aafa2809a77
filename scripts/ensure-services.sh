#!/usr/bin/env bash
# Start what the tests (or `make run`) need when it does not answer: Redis, and PostgreSQL
# unless called with --redis-only. Installs them from Debian's packages when missing.
set -euo pipefail

redis_only=0
[ "${1:-}" = "--redis-only" ] && redis_only=1

apt_install() {
  if ! command -v apt-get >/dev/null; then
    echo "ensure-services: $* missing and no apt-get to install it" >&2
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

if ! redis_answers; then
  command -v redis-server >/dev/null || apt_install redis-server
  mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 50); do redis_answers && break; sleep 0.1; done
  redis_answers || { echo "ensure-services: Redis did not start" >&2; exit 1; }
  echo "ensure-services: started Redis on 127.0.0.1:6379"
fi

[ "$redis_only" = 1 ] && exit 0

pg_answers() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! pg_answers; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  for _ in $(seq 100); do pg_answers && break; sleep 0.1; done
  pg_answers || { echo "ensure-services: PostgreSQL did not start" >&2; exit 1; }
  echo "ensure-services: started PostgreSQL $version on 127.0.0.1:5432"
fi
