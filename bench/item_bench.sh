#!/usr/bin/env bash
# Items (SPEC §13), from nothing to docs/PERFORMANCE.md: a fresh PostgreSQL database
# `lunas_bench_items` (or $BENCH_DATABASE), migrations, one user and one project, the fake
# Midtrans (bench/fake_midtrans_status.py: Snap create answered at once), gunicorn from
# gunicorn.conf.py serving bench.wsgi_bench:app (the product plus /_bench/bare) with one worker
# (so its memory is the download's), then bench/item_bench.py --write. The database and the
# media folder are removed at the end unless KEEP_DB=1.
#
#   bench/item_bench.sh                   # about a minute
#   bench/item_bench.sh --duration 20     # extra args go to item_bench.py
#
# Needs: the venv (make install), wrk, PostgreSQL on 127.0.0.1:5432 (trust auth, user
# postgres), Redis on 127.0.0.1:6379 (database 12).
set -euo pipefail
cd "$(dirname "$0")/.."
test -x .venv/bin/python || { echo "item_bench: no .venv here (make install)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "item_bench: wrk is missing (apt-get install -y wrk)" >&2; exit 1; }

port=${BENCH_PORT:-18093}
midtrans_port=${BENCH_MIDTRANS_PORT:-18094}
database=${BENCH_DATABASE:-lunas_bench_items}
server=postgresql://postgres@127.0.0.1:5432
media=$(mktemp -d)
key=SB-Mid-server-bench-items
export FLASK_APP=bench.wsgi_bench LUNAS_ENV=production PORT="$port" BIND_HOST=127.0.0.1
export WEB_CONCURRENCY=${WEB_CONCURRENCY:-1}
export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$database"
export SECRET_KEY=bench-items-secret-key-not-for-production LUNAS_DATA_KEY=bench-items-data-key-not-for-production
export REDIS_URL=redis://127.0.0.1:6379/12 MIDTRANS_SIMULATOR=0 PUBLIC_BASE_URL="http://127.0.0.1:$port"
export MIDTRANS_SANDBOX_SERVER_KEY=$key MEDIA_DIR=$media RATE_LIMIT_LINK=off
export MIDTRANS_SANDBOX_SNAP_BASE="http://127.0.0.1:$midtrans_port/snap"
export MIDTRANS_SANDBOX_API_BASE="http://127.0.0.1:$midtrans_port"

pg() { .venv/bin/python -c "import psycopg, sys
with psycopg.connect('$server/postgres', autocommit=True) as c: c.execute(sys.argv[1])" "$1"; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ "${KEEP_DB:-0}" != 1 ]; then
    pg "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true
    rm -rf "$media"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

pg "DROP DATABASE IF EXISTS $database WITH (FORCE)"
pg "CREATE DATABASE $database"
.venv/bin/flask db upgrade 2>/dev/null
.venv/bin/flask users create --email bench@example.com --password bench-items-password >/dev/null
created=$(.venv/bin/flask projects create --owner bench@example.com --name "Item bench")
read -r client_id client_secret < <(echo "$created" | .venv/bin/python -c "
import json, sys
document = json.load(sys.stdin)
print(document['sandbox']['client_id'], document['sandbox']['client_secret'])")
.venv/bin/python bench/fake_midtrans_status.py --port "$midtrans_port" --server-key "$key" 2>/dev/null &
pids+=($!)
.venv/bin/gunicorn -c gunicorn.conf.py bench.wsgi_bench:app 2>/dev/null &
gunicorn_pid=$!
pids+=("$gunicorn_pid")
for _ in $(seq 60); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/_bench/bare" && break
  sleep 1
done
workers=$(pgrep -P "$gunicorn_pid" | paste -sd, -)
timeout 600 .venv/bin/python bench/item_bench.py --base-url "http://127.0.0.1:$port" \
  --client-id "$client_id" --client-secret "$client_secret" --web-pids "$workers" --write "$@"
