"""The endpoints an operator's tools call (SPEC §15): `/healthz` (the process answers),
`/readyz` (what it depends on answers) and `/metrics` (Prometheus), plus the latency of every
request, timed here for `/metrics`."""

from __future__ import annotations

import hmac
import time

from flask import Blueprint, Flask, Response, current_app, g, jsonify, request
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from app import metrics
from app.api.errors import error_response
from app.services.operations.metrics import render
from app.services.operations.readiness import readiness

bp = Blueprint("ops", __name__)


@bp.get("/healthz")
def healthz():
    return jsonify({"status": "ok"})


@bp.get("/readyz")
def readyz():
    state = readiness()
    answer: dict[str, object] = {"status": state.status}
    if state.failed:
        answer["failed"] = list(state.failed)
    if state.degraded:
        answer["degraded"] = list(state.degraded)
    response = jsonify(answer)
    response.status_code = 503 if state.failed else 200
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/metrics")
def metrics_page():
    token = current_app.config["METRICS_TOKEN"]
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            response = error_response(
                "invalid_client", "send Authorization: Bearer <METRICS_TOKEN>", 401
            )
            response.headers["WWW-Authenticate"] = 'Bearer realm="metrics"'
            return response
    # The 0.0.4 text format, which generate_latest writes and every Prometheus reads.
    return Response(render(), content_type=CONTENT_TYPE_PLAIN_0_0_4)


def install(app: Flask) -> None:
    """Time every request from its first hook to its answer, by URL rule."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_clock)
    app.after_request(_stop_clock)
    app.register_blueprint(bp)


def _start_clock() -> None:
    g.lunas_started = time.perf_counter()


def _stop_clock(response: Response) -> Response:
    started = g.pop("lunas_started", None)
    if started is not None:
        rule = request.url_rule.rule if request.url_rule is not None else "unmatched"
        metrics.request_answered(rule, request.method, time.perf_counter() - started)
    return response
