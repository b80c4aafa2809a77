#!/usr/bin/env bash
# Rerunnable load benchmark: verify and Midtrans notifications beside a bare route, on gunicorn
# configured as in the Procfile, with PostgreSQL. Writes docs/PERFORMANCE.md (between markers).
#
#   bench/run_bench.sh                 # the full run (about 4 minutes)
#   bench/run_bench.sh --no-write      # measure only; the report stays in the work directory
#   bench/run_bench.sh --help          # every option (duration, connections, payments, ports…)
#
# Needs: the venv (make install), PostgreSQL on 127.0.0.1:5432 (trust auth, user postgres),
# wrk (apt-get install wrk). Bounded: the whole run is killed after BENCH_TIMEOUT seconds.
set -euo pipefail
cd "$(dirname "$0")/.."

if ! command -v wrk >/dev/null; then
  echo "run_bench: wrk is missing (apt-get update -qq && apt-get install -y -qq wrk)" >&2
  exit 1
fi
test -x .venv/bin/python || { echo "run_bench: no .venv here (make install)" >&2; exit 1; }

workdir=$(mktemp -d /tmp/lunas-bench-XXXXXX)
driver_pid=""
cleanup() {
  # The driver stops its own children; this catches what a killed driver left behind: every
  # process group it recorded (it starts each child in a group of its own).
  if [ -n "$driver_pid" ] && kill -0 "$driver_pid" 2>/dev/null; then
    kill -TERM "$driver_pid" 2>/dev/null || true
    sleep 2
  fi
  if [ -f "$workdir/pids" ]; then
    while read -r pid; do
      kill -KILL -- "-$pid" 2>/dev/null || true
    done <"$workdir/pids"
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

timeout --signal=TERM --kill-after=30 "${BENCH_TIMEOUT:-1500}" \
  .venv/bin/python bench/run_bench.py --workdir "$workdir" --max-seconds "${BENCH_TIMEOUT:-1500}" "$@" &
driver_pid=$!
wait "$driver_pid"
