#!/usr/bin/env bash
# `make compose-smoke`: build the image, `docker compose up`, and take one payment from
# checkout to settlement through it (the README's quick start, in the containers), then
# check /readyz and /metrics and take everything down again, volumes included.
# Where no Docker engine answers, it says so and exits 2 (nothing was checked).
set -euo pipefail
cd "$(dirname "$0")/.."

if ! docker info >/dev/null 2>&1; then
  echo "compose-smoke: no Docker engine answers here (docker info failed); nothing checked" >&2
  exit 2
fi

export COMPOSE_PROJECT_NAME="lunas-smoke-$$"
export PORT="${PORT:-5055}"
export PUBLIC_BASE_URL="http://localhost:$PORT"
BASE="http://127.0.0.1:$PORT"
cleanup() { docker compose down --volumes --remove-orphans >/dev/null 2>&1 || true; }
trap cleanup EXIT

docker compose up --build --detach --wait
flask() { docker compose exec -T web flask "$@"; }

flask users create --email ani@example.com --password 'kata-sandi-rahasia' >/dev/null
project=$(flask projects create --owner ani@example.com --name "Warung Bu Sari" \
  --store-url-template "$PUBLIC_BASE_URL/_demo/store/{store_slug}")
field() { python3 -c "import json,sys; print(json.loads(sys.argv[1])['sandbox'][sys.argv[2]])" "$project" "$1"; }
CID=$(field client_id)
SECRET=$(field client_secret)

curl -fsS "$BASE/api/platform/shop-payment" -u "$CID:$SECRET" -H 'Content-Type: application/json' \
  -d '{"amount": 75000, "order_id": "INV-0001", "buyer_email": "buyer@example.com"}' >/dev/null
flask midtrans notify INV-0001 settlement >/dev/null
verify=$(curl -fsS "$BASE/api/platform/shop-payment/verify?order_id=INV-0001&client_id=$CID")
echo "$verify" | grep -q '"status": *"settlement"' || { echo "not settled: $verify" >&2; exit 1; }

curl -fsS "$BASE/readyz" | grep -q '"status": *"ok"' || { echo "/readyz is not ok" >&2; exit 1; }
metrics=$(curl -fsS "$BASE/metrics")
echo "$metrics" | grep -q '^lunas_checkouts_created_total{environment="sandbox"} 1.0' \
  || { echo "/metrics did not count the checkout" >&2; exit 1; }
workers=$(docker compose ps --status running --quiet worker | wc -l)
[ "$workers" -eq 2 ] || { echo "expected 2 worker containers, found $workers" >&2; exit 1; }
echo "compose-smoke: ok (checkout settled, /readyz ok, /metrics counting, 2 workers running)"
