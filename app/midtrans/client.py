"""HTTP client for the Midtrans Snap and Get Status APIs, one instance per environment."""

from __future__ import annotations

import base64
import json
import logging
import os
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

import urllib3
from flask import current_app
from urllib3.exceptions import HTTPError as TransportError
from urllib3.exceptions import TimeoutError as TransportTimeout

from app.config import SIMULATOR_SERVER_KEY
from app.models.project import Environment

log = logging.getLogger(__name__)

USER_AGENT = "lunas/0.1"

_pools: tuple[int, urllib3.PoolManager] | None = None
_pools_lock = threading.Lock()


def _pool() -> urllib3.PoolManager:
    """One connection pool per process, shared by its threads, so calls to Midtrans reuse
    kept-alive TLS connections instead of a new handshake for every notification's Get
    Status. urllib3 directly: per call it costs about two thirds of what requests does on
    top of it. Never retried or redirected here: a money call is tried once, and its caller
    decides (a 503 makes Midtrans send the notification again)."""
    global _pools
    pools = _pools
    if pools is None or pools[0] != os.getpid():  # a forked child opens its own sockets
        with _pools_lock:
            if _pools is None or _pools[0] != os.getpid():
                _pools = (os.getpid(), urllib3.PoolManager(maxsize=16, block=False, retries=False))
            pools = _pools
    return pools[1]


class MidtransError(Exception):
    """Midtrans failed, refused, timed out or answered something we cannot use."""

    def __init__(self, message: str, http_status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.http_status = http_status


class MidtransNotFoundError(MidtransError):
    """Get Status says the transaction does not exist (HTTP 404 or body status_code "404")."""


class MidtransRefusedError(MidtransError):
    """Midtrans answered and said no (HTTP 4xx, or a 4xx status_code in an HTTP 200 body):
    nothing was done there, and asking again the same way will not change that."""


class MidtransUnavailableError(Exception):
    """No Midtrans server key is configured for this environment."""


@dataclass(frozen=True)
class SnapSession:
    token: str
    redirect_url: str


@dataclass(frozen=True)
class MidtransSettings:
    server_key: str
    snap_base: str
    api_base: str


def settings_for(environment: Environment) -> MidtransSettings:
    config = current_app.config
    if environment == Environment.SANDBOX:
        if config["MIDTRANS_SIMULATOR"]:
            base = f"{config['PUBLIC_BASE_URL']}/_simulator/midtrans"
            key = config["MIDTRANS_SANDBOX_SERVER_KEY"] or SIMULATOR_SERVER_KEY
            return MidtransSettings(key, f"{base}/snap", base)
        key = config["MIDTRANS_SANDBOX_SERVER_KEY"]
        snap_base, api_base = (
            config["MIDTRANS_SANDBOX_SNAP_BASE"],
            config["MIDTRANS_SANDBOX_API_BASE"],
        )
    else:
        key = config["MIDTRANS_PRODUCTION_SERVER_KEY"]
        snap_base = config["MIDTRANS_PRODUCTION_SNAP_BASE"]
        api_base = config["MIDTRANS_PRODUCTION_API_BASE"]
    if not key:
        raise MidtransUnavailableError(f"no Midtrans server key is configured for {environment}")
    return MidtransSettings(key, snap_base, api_base)


class MidtransClient:
    def __init__(self, settings: MidtransSettings) -> None:
        self.settings = settings
        credentials = base64.b64encode(f"{settings.server_key}:".encode()).decode()
        self._authorization = f"Basic {credentials}"

    @classmethod
    def for_environment(cls, environment: Environment) -> MidtransClient:
        return cls(settings_for(environment))

    def create_snap_transaction(
        self, payload: dict[str, Any], notification_url: str, timeout: float
    ) -> SnapSession:
        body, status = self._request(
            "POST",
            f"{self.settings.snap_base}/v1/transactions",
            timeout,
            json=payload,
            headers={"X-Override-Notification": notification_url},
        )
        if status != 201 or not isinstance(body.get("token"), str):
            raise MidtransError(_error_message(body, status), status)
        redirect_url = body.get("redirect_url")
        if not isinstance(redirect_url, str) or not redirect_url.startswith(
            ("https://", "http://")
        ):
            raise MidtransError("Midtrans returned no usable redirect_url", status)
        return SnapSession(token=body["token"], redirect_url=redirect_url)

    def get_status(self, order_id: str, timeout: float) -> dict[str, Any]:
        url = f"{self.settings.api_base}/v2/{quote(order_id, safe='')}/status"
        body, status = self._request("GET", url, timeout)
        body_code = str(body.get("status_code", ""))
        if status == 404 or body_code == "404":
            raise MidtransNotFoundError(_error_message(body, status), status)
        # 407 is Get Status's (non-standard) success code for an expired transaction.
        if status >= 400 or (body_code.isdigit() and int(body_code) >= 400 and body_code != "407"):
            raise MidtransError(_error_message(body, status), status)
        if not isinstance(body.get("transaction_status"), str):
            raise MidtransError("Midtrans Get Status returned no transaction_status", status)
        return body

    def refund(
        self, order_id: str, refund_key: str, amount: int, reason: str | None, timeout: float
    ) -> dict[str, Any]:
        """POST /v2/{order_id}/refund. The same refund_key again is a retry of the same refund
        at Midtrans, never a second one. MidtransRefusedError when Midtrans says no, and
        MidtransError when the outcome is unknown (unreachable, timeout, 5xx)."""
        body: dict[str, Any] = {"refund_key": refund_key, "amount": amount}
        if reason:
            body["reason"] = reason
        return self._action(order_id, "refund", timeout, json=body)

    def cancel(self, order_id: str, timeout: float) -> dict[str, Any]:
        """POST /v2/{order_id}/cancel: a card transaction before settlement, or a pending one.
        MidtransNotFoundError when Midtrans has no transaction for it."""
        return self._action(order_id, "cancel", timeout)

    def expire(self, order_id: str, timeout: float) -> dict[str, Any]:
        """POST /v2/{order_id}/expire: a pending transaction (its success is status_code
        "407"). MidtransNotFoundError when Midtrans has no transaction for it."""
        return self._action(order_id, "expire", timeout)

    def _action(self, order_id: str, action: str, timeout: float, **kwargs: Any):
        url = f"{self.settings.api_base}/v2/{quote(order_id, safe='')}/{action}"
        body, status = self._request("POST", url, timeout, **kwargs)
        body_code = str(body.get("status_code", ""))
        if status == 404 or body_code == "404":
            raise MidtransNotFoundError(_error_message(body, status), status)
        refused_code = body_code.isdigit() and 400 <= int(body_code) < 500 and body_code != "407"
        if 400 <= status < 500 or refused_code:
            raise MidtransRefusedError(_error_message(body, status), status)
        if status >= 300 or (body_code.isdigit() and int(body_code) >= 500):
            raise MidtransError(_error_message(body, status), status)
        return body

    def _request(
        self, method: str, url: str, timeout: float, **kwargs: Any
    ) -> tuple[dict[str, Any], int]:
        headers = {
            "Accept": "application/json",
            "User-Agent": USER_AGENT,
            "Authorization": self._authorization,
        }
        headers.update(kwargs.pop("headers", {}))
        started = time.monotonic()
        try:
            response = _pool().request(
                method,
                url,
                headers=headers,
                timeout=urllib3.Timeout(connect=min(timeout, 3.05), read=timeout),
                **kwargs,
            )
        except TransportTimeout:
            raise MidtransError(f"Midtrans did not answer within {timeout:g} s") from None
        except TransportError as exc:
            log.warning("midtrans unreachable: %s %s: %s", method, url, type(exc).__name__)
            raise MidtransError("Midtrans could not be reached") from None
        elapsed = time.monotonic() - started
        if elapsed > timeout:
            # urllib3's read timeout is per read; a slow trickle must not hold the caller longer.
            raise MidtransError(f"Midtrans did not answer within {timeout:g} s")
        try:
            body = json.loads(response.data)
        except ValueError:
            body = None
        if not isinstance(body, dict):
            raise MidtransError(
                f"Midtrans answered HTTP {response.status} without a JSON object",
                response.status,
            )
        log.info("midtrans %s %s -> %s in %.0f ms", method, url, response.status, elapsed * 1e3)
        return body, response.status


def _error_message(body: dict[str, Any], status: int) -> str:
    messages = body.get("error_messages")
    if isinstance(messages, list) and messages:
        text = "; ".join(str(message) for message in messages)
    else:
        text = str(body.get("status_message") or f"unexpected answer (HTTP {status})")
    return f"Midtrans: {text}"[:500]
