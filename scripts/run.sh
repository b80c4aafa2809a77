#!/usr/bin/env bash
# `make run`: migrate, then start the Procfile's web and worker processes with honcho.
set -euo pipefail
cd "$(dirname "$0")/.."

export PATH="$PWD/.venv/bin:$PATH"
export FLASK_APP=wsgi
export LUNAS_ENV="${LUNAS_ENV:-development}"
export PORT="${PORT:-5000}"
export BIND_HOST="${BIND_HOST:-127.0.0.1}"  # only this machine, unless told otherwise
export PUBLIC_BASE_URL="${PUBLIC_BASE_URL:-http://localhost:$PORT}"

# /metrics adds up the figures of every web and worker process through files in this folder
# (prometheus-client's multiprocess mode); a new start counts from zero.
export PROMETHEUS_MULTIPROC_DIR="${PROMETHEUS_MULTIPROC_DIR:-$PWD/instance/metrics}"
mkdir -p "$PROMETHEUS_MULTIPROC_DIR"
find "$PROMETHEUS_MULTIPROC_DIR" -maxdepth 1 -name '*.db' -delete

scripts/ensure-services.sh --redis-only
.venv/bin/flask db upgrade

# Development mail (verification, password reset) goes to a local catcher unless SMTP_URL says
# otherwise: every message shows on its page, nothing leaves the machine.
if [ -z "${SMTP_URL:-}" ] && [ "$LUNAS_ENV" = "development" ]; then
  .venv/bin/python scripts/mailcatcher.py &
  catcher=$!
  trap 'kill "$catcher" 2>/dev/null || true' EXIT
  echo "Mail sent by Lunas shows at http://127.0.0.1:1080"
fi

echo "Lunas on $PUBLIC_BASE_URL (LUNAS_ENV=$LUNAS_ENV); Ctrl-C stops it."
.venv/bin/honcho start -f Procfile web worker
