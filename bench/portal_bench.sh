#!/usr/bin/env bash
# Portal pages at a million payments (issue item 10), from nothing to docs/PERFORMANCE.md:
# a fresh PostgreSQL database `lunas_bench_portal` (or $BENCH_DATABASE), migrations, one user
# with two projects seeded by `flask payments seed` (realistic: BENCH_PAYMENTS over 365 days;
# harsh: as many within the last 30 days), gunicorn from gunicorn.conf.py as the Procfile runs it,
# then bench/portal_bench.py (login through /login, timings, EXPLAIN) with --write. The database
# is dropped at the end unless KEEP_DB=1.
#
#   bench/portal_bench.sh                    # the full run (about 10 minutes, most of it seeding)
#   BENCH_PAYMENTS=100000 bench/portal_bench.sh --requests 10     # smaller; extra args go
#                                                                  # to portal_bench.py
# Needs: the venv (make install), PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres),
# Redis on 127.0.0.1:6379 (database 12: the login throttle). Each long step is bounded by
# BENCH_STEP_TIMEOUT seconds (default 1200).
set -euo pipefail
cd "$(dirname "$0")/.."
test -x .venv/bin/python || { echo "portal_bench: no .venv here (make install)" >&2; exit 1; }

count=${BENCH_PAYMENTS:-1000000}
port=${BENCH_PORT:-18090}
database=${BENCH_DATABASE:-lunas_bench_portal}
server=postgresql://postgres@127.0.0.1:5432
export FLASK_APP=wsgi LUNAS_ENV=production PORT="$port" WEB_CONCURRENCY=${WEB_CONCURRENCY:-2}
export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$database"
export SECRET_KEY=bench-portal-secret-key-not-for-production LUNAS_DATA_KEY=bench-portal-data-key-not-for-production
export REDIS_URL=redis://127.0.0.1:6379/12 MIDTRANS_SIMULATOR=0 PUBLIC_BASE_URL=https://lunas.bench
password=bench-portal-password

pg() { .venv/bin/python -c "import psycopg, sys
with psycopg.connect('$server/postgres', autocommit=True) as c: c.execute(sys.argv[1])" "$1"; }
gunicorn_pid=""
cleanup() {
  if [ -n "$gunicorn_pid" ]; then
    kill -TERM "$gunicorn_pid" 2>/dev/null || true
    wait "$gunicorn_pid" 2>/dev/null || true
  fi
  if [ "${KEEP_DB:-0}" != 1 ]; then pg "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
limit=${BENCH_STEP_TIMEOUT:-1200}  # seconds, for each long step

project() {
  .venv/bin/flask projects create --owner bench@example.com --name "$1" \
    | .venv/bin/python -c "import json, sys; print(json.load(sys.stdin)['project']['id'])"
}

pg "DROP DATABASE IF EXISTS $database WITH (FORCE)"
pg "CREATE DATABASE $database"
.venv/bin/flask db upgrade 2>/dev/null
.venv/bin/flask users create --email bench@example.com --password "$password" >/dev/null
realistic=$(project "Realistic (365 days)")
harsh=$(project "Harsh (30 days)")
echo "portal_bench: seeding $count payments into each of $realistic and $harsh" >&2
seed() {
  timeout "$limit" .venv/bin/flask payments seed --project "$1" --count "$count" --days "$2" \
    2>/dev/null | .venv/bin/python -c "import json, sys; print(json.load(sys.stdin)['seconds'])"
}
realistic_seconds=$(seed "$realistic" 365)
harsh_seconds=$(seed "$harsh" 30)
.venv/bin/gunicorn -c gunicorn.conf.py wsgi:app 2>/dev/null &
gunicorn_pid=$!
for _ in $(seq 60); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/login" && break
  sleep 1
done
timeout "$limit" .venv/bin/python bench/portal_bench.py --base-url "http://127.0.0.1:$port" \
  --email bench@example.com --password "$password" \
  --case "realistic=$realistic" --case "harsh=$harsh" --explain --write \
  --note "realistic: $count payments over 365 days; harsh: $count within the last 30 days, \
one project each in one database; \`flask payments seed\` took $realistic_seconds s and \
$harsh_seconds s (VACUUM ANALYZE included)" "$@"
