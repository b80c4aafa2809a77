#!/usr/bin/env bash
# The rate limiter's cost (SPEC §12) on create and verify, from nothing to docs/PERFORMANCE.md:
# a fresh PostgreSQL database `lunas_bench_limits` (or $BENCH_DATABASE), migrations, one user
# and one project with settled payments from `flask payments seed`, the fake Midtrans
# (bench/fake_midtrans_status.py: Snap create answered at once), and two gunicorns from
# gunicorn.conf.py as the Procfile runs them, on the same database and Redis: one with the
# limits on (values high enough that nothing is refused, so every request pays for its
# counting), one with every RATE_LIMIT_* off. Then bench/limiter_bench.py --write, which runs
# wrk against both in turns. The database is dropped at the end unless KEEP_DB=1.
#
#   bench/limiter_bench.sh                     # about 3 minutes
#   bench/limiter_bench.sh --duration 20       # extra args go to limiter_bench.py
#
# Needs: the venv (make install), wrk, PostgreSQL on 127.0.0.1:5432 (trust auth, user
# postgres), Redis on 127.0.0.1:6379 (database 11 is emptied).
set -euo pipefail
cd "$(dirname "$0")/.."
test -x .venv/bin/python || { echo "limiter_bench: no .venv here (make install)" >&2; exit 1; }
command -v wrk >/dev/null || { echo "limiter_bench: wrk is missing (apt-get install -y wrk)" >&2; exit 1; }

limited_port=${BENCH_PORT:-18095}
open_port=${BENCH_OPEN_PORT:-18096}
midtrans_port=${BENCH_MIDTRANS_PORT:-18097}
database=${BENCH_DATABASE:-lunas_bench_limits}
server=postgresql://postgres@127.0.0.1:5432
key=SB-Mid-server-bench-limits
export FLASK_APP=wsgi LUNAS_ENV=production BIND_HOST=127.0.0.1
export DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$database"
export SECRET_KEY=bench-limits-secret-key-not-for-production LUNAS_DATA_KEY=bench-limits-data-key-not-for-production
export REDIS_URL=redis://127.0.0.1:6379/11 MIDTRANS_SIMULATOR=0 PUBLIC_BASE_URL=https://lunas.bench
export MIDTRANS_SANDBOX_SERVER_KEY=$key
export MIDTRANS_SANDBOX_SNAP_BASE="http://127.0.0.1:$midtrans_port/snap"
export MIDTRANS_SANDBOX_API_BASE="http://127.0.0.1:$midtrans_port"
high=1000000000/minute

pg() { .venv/bin/python -c "import psycopg, sys
with psycopg.connect('$server/postgres', autocommit=True) as c: c.execute(sys.argv[1])" "$1"; }
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; done
  if [ "${KEEP_DB:-0}" != 1 ]; then pg "DROP DATABASE IF EXISTS $database WITH (FORCE)" || true; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

.venv/bin/python -c "import redis; redis.Redis.from_url('$REDIS_URL').flushdb()"
pg "DROP DATABASE IF EXISTS $database WITH (FORCE)"
pg "CREATE DATABASE $database"
.venv/bin/flask db upgrade 2>/dev/null
.venv/bin/flask users create --email bench@example.com --password bench-limits-password >/dev/null
created=$(.venv/bin/flask projects create --owner bench@example.com --name "Limiter bench")
read -r project client_id client_secret < <(echo "$created" | .venv/bin/python -c "
import json, sys
document = json.load(sys.stdin)
print(document['project']['id'], document['sandbox']['client_id'], document['sandbox']['client_secret'])")
.venv/bin/flask payments seed --project "$project" --count 20000 --days 30 >/dev/null 2>&1
.venv/bin/python bench/fake_midtrans_status.py --port "$midtrans_port" --server-key "$key" 2>/dev/null &
pids+=($!)
# The same product twice: limits on (never reached), and limits off.
PORT=$limited_port RATE_LIMIT_API_SANDBOX=$high RATE_LIMIT_VERIFY=$high \
  RATE_LIMIT_VERIFY_ADDRESS=$high .venv/bin/gunicorn -c gunicorn.conf.py wsgi:app 2>/dev/null &
pids+=($!)
PORT=$open_port RATE_LIMIT_API_SANDBOX=off RATE_LIMIT_API_PRODUCTION=off RATE_LIMIT_VERIFY=off \
  RATE_LIMIT_VERIFY_ADDRESS=off .venv/bin/gunicorn -c gunicorn.conf.py wsgi:app 2>/dev/null &
pids+=($!)
for port in "$limited_port" "$open_port"; do
  for _ in $(seq 60); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/login" && break
    sleep 1
  done
done
timeout 900 .venv/bin/python bench/limiter_bench.py \
  --limited-url "http://127.0.0.1:$limited_port" --open-url "http://127.0.0.1:$open_port" \
  --client-id "$client_id" --client-secret "$client_secret" --project "$project" \
  --database "postgresql://postgres@127.0.0.1:5432/$database" --limit-value "$high" --write "$@"
