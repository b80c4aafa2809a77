#!/usr/bin/env bash
# The merchant API's reads and the CSV export at a million payments (SPEC §11.2, §11.7), from
# nothing to docs/PERFORMANCE.md: a fresh PostgreSQL database `lunas_bench_api` (or
# $BENCH_DATABASE), migrations, one user with one project seeded by `flask payments seed`
# (BENCH_PAYMENTS, default 1,000,000, over 365 days), gunicorn from gunicorn.conf.py as the
# Procfile runs it (one worker, so its memory is the export's), then bench/api_bench.py with
# --write. The database is dropped at the end unless KEEP_DB=1.
#
#   bench/api_bench.sh                                  # the full run (about 5 minutes)
#   BENCH_PAYMENTS=100000 bench/api_bench.sh --requests 10   # extra args go to api_bench.py
#
# Needs: the venv (make install), PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres),
# Redis on 127.0.0.1:6379 (database 13).
set -euo pipefail
cd "$(dirname "$0")/.."
test -x .venv/bin/python || { echo "api_bench: no .venv here (make install)" >&2; exit 1; }

count=${BENCH_PAYMENTS:-1000000}
port=${BENCH_PORT:-18091}
database=${BENCH_DATABASE:-lunas_bench_api}
server=postgresql://postgres@127.0.0.1:5432
export FLASK_APP=wsgi LUNAS_ENV=production PORT="$port" WEB_CONCURRENCY=1
export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$database"
export SECRET_KEY=bench-api-secret-key-not-for-production LUNAS_DATA_KEY=bench-api-data-key-not-for-production
export REDIS_URL=redis://127.0.0.1:6379/13 MIDTRANS_SIMULATOR=0 PUBLIC_BASE_URL=https://lunas.bench
export MIDTRANS_SANDBOX_SERVER_KEY=SB-Mid-server-bench
password=bench-api-password

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
limit=${BENCH_STEP_TIMEOUT:-1200}

pg "DROP DATABASE IF EXISTS $database WITH (FORCE)"
pg "CREATE DATABASE $database"
.venv/bin/flask db upgrade 2>/dev/null
.venv/bin/flask users create --email bench@example.com --password "$password" >/dev/null
created=$(.venv/bin/flask projects create --owner bench@example.com --name "API bench")
read -r project client_id client_secret < <(echo "$created" | .venv/bin/python -c "
import json, sys
document = json.load(sys.stdin)
print(document['project']['id'], document['sandbox']['client_id'], document['sandbox']['client_secret'])")
echo "api_bench: seeding $count payments into $project" >&2
seconds=$(timeout "$limit" .venv/bin/flask payments seed --project "$project" --count "$count" \
  --days 365 2>/dev/null | .venv/bin/python -c "import json, sys; print(json.load(sys.stdin)['seconds'])")
.venv/bin/gunicorn -c gunicorn.conf.py wsgi:app 2>/dev/null &
gunicorn_pid=$!
for _ in $(seq 60); do
  curl -sf -o /dev/null "http://127.0.0.1:$port/login" && break
  sleep 1
done
workers=$(pgrep -P "$gunicorn_pid" | paste -sd, -)
timeout "$limit" .venv/bin/python bench/api_bench.py --base-url "http://127.0.0.1:$port" \
  --client-id "$client_id" --client-secret "$client_secret" --project "$project" \
  --email bench@example.com --password "$password" --web-pids "$workers" --write \
  --note "$count payments over 365 days in one project; \`flask payments seed\` took $seconds s." "$@"
