"""HTTP POST to a merchant's endpoint: no redirects, a whole-request timeout, a 2 KB response
excerpt, and an SSRF guard checked on the address actually connected to."""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import socket
import threading
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError

from app.models import EndpointFailure

EXCERPT_BYTES = 2048
USER_AGENT = "Lunas-Webhooks/1.0"
# What a tenant reads when the guard refuses its endpoint. The addresses the name resolved to
# go to the server log only: telling a tenant what our resolver answers (an internal name's
# address, say) would turn the guard into a way of mapping our network.
REFUSED_NOT_PUBLIC = "refused: not a public address"

log = logging.getLogger(__name__)


class BlockedTargetError(NewConnectionError):
    """The endpoint resolves only to addresses a webhook may not reach."""


def forbidden_reason(address: str) -> str | None:
    """Why a webhook may not connect to this IP, or None when it may."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address):
        # An IPv6 address that carries an IPv4 one (IPv4-mapped, 6to4, Teredo) reaches that
        # IPv4 address: judge it too, so 2002:7f00:1:: cannot stand in for 127.0.0.1.
        embedded = [ip.ipv4_mapped, ip.sixtofour, *(ip.teredo or ())]
        for inner in (address for address in embedded if address is not None):
            reason = forbidden_reason(str(inner))
            if reason is not None:
                return reason
        if ip.ipv4_mapped is not None:
            return None
    for reason, flagged in (
        ("loopback", ip.is_loopback),
        ("private", ip.is_private),
        ("link-local", ip.is_link_local),
        ("multicast", ip.is_multicast),
        ("reserved", ip.is_reserved),
        ("unspecified", ip.is_unspecified),
        ("not globally routable", not ip.is_global),
    ):
        if flagged:
            return reason
    return None


class _GuardedConnectionMixin:
    allow_private = False
    # The sockets this request opened, so that its deadline can cut them (set per request).
    opened: list[socket.socket]

    def _new_conn(self) -> socket.socket:
        sock = self._guarded_conn()
        self.opened.append(sock)
        return sock

    def _guarded_conn(self) -> socket.socket:
        if not self.allow_private:
            # Resolve once, check every address, then connect to a checked address itself,
            # so a second DNS answer (rebinding) cannot swap in another target.
            infos = socket.getaddrinfo(self._dns_host, self.port, type=socket.SOCK_STREAM)
            refused = []
            for *_, sockaddr in infos:
                reason = forbidden_reason(sockaddr[0])
                if reason is None:
                    return self._connect_to(sockaddr[0])
                refused.append(f"{sockaddr[0]} is {reason}")
            log.warning(
                "webhook target %s refused by the SSRF guard: %s",
                self._dns_host,
                ", ".join(refused) or "no address",
            )
            raise BlockedTargetError(self, REFUSED_NOT_PUBLIC)
        return super()._new_conn()

    def _connect_to(self, address: str) -> socket.socket:
        # urllib3 dials _dns_host, but its `host` (TLS SNI, certificate check, Host header)
        # reads the same attribute: swap it only for the connect, then give the name back.
        hostname = self._dns_host
        self._dns_host = address
        try:
            return super()._new_conn()
        finally:
            self._dns_host = hostname


class _GuardedHTTPConnection(_GuardedConnectionMixin, HTTPConnection):
    pass


class _GuardedHTTPSConnection(_GuardedConnectionMixin, HTTPSConnection):
    pass


def _guarded_pools(allow_private: bool, opened: list[socket.socket]) -> dict[str, type]:
    settings = {"allow_private": allow_private, "opened": opened}
    http_conn = type("Conn", (_GuardedHTTPConnection,), settings)
    https_conn = type("Conns", (_GuardedHTTPSConnection,), settings)
    return {
        "http": type("Pool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("Pools", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_private: bool, opened: list[socket.socket]) -> None:
        self._pools = _guarded_pools(allow_private, opened)
        super().__init__(max_retries=0)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


@dataclass(frozen=True)
class PostResult:
    http_status: int | None
    duration_ms: int
    error: str | None
    excerpt: str | None
    retry_after: str | None
    # Set when the endpoint did not answer in time or could not be reached: what its circuit
    # breaker counts (an answer of any status, or a refusal by the guard, is neither).
    failure: EndpointFailure | None = None


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool
) -> PostResult:
    session = requests.Session()
    session.trust_env = False  # no proxy from the environment may carry the request elsewhere
    opened: list[socket.socket] = []
    adapter = _GuardedAdapter(allow_private, opened)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    # requests' timeouts apply to each socket operation: a server trickling its answer byte
    # by byte would never trip them. The deadline cuts the connection after `timeout` in all.
    cut = threading.Event()
    deadline = threading.Timer(timeout, _cut, args=(opened, cut))
    deadline.daemon = True
    started = time.monotonic()
    deadline.start()
    try:
        with session.post(
            url,
            data=body,
            headers={"User-Agent": USER_AGENT, **headers},
            timeout=(min(timeout, 5.0), timeout),
            allow_redirects=False,
            stream=True,
        ) as response:
            raw = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
            status = response.status_code
            retry_after = response.headers.get("Retry-After")
    except requests.Timeout:
        return _failure(started, f"timed out after {timeout:g} s", EndpointFailure.TIMEOUT)
    except requests.RequestException as exc:
        if cut.is_set():
            return _failure(started, f"timed out after {timeout:g} s", EndpointFailure.TIMEOUT)
        if isinstance(exc, requests.ConnectionError):
            kind = None if _blocked(exc) else EndpointFailure.CONNECTION
            return _failure(started, _connection_error(exc), kind)
        return _failure(started, f"request failed: {type(exc).__name__}")
    finally:
        deadline.cancel()
        session.close()
    elapsed = time.monotonic() - started
    excerpt = raw.decode("utf-8", errors="replace")
    if cut.is_set() or elapsed > timeout:
        return PostResult(
            status,
            int(elapsed * 1000),
            f"timed out after {timeout:g} s",
            excerpt,
            None,
            EndpointFailure.TIMEOUT,
        )
    return PostResult(status, int(elapsed * 1000), None, excerpt, retry_after)


def _cut(opened: list[socket.socket], cut: threading.Event) -> None:
    cut.set()
    for sock in list(opened):
        with contextlib.suppress(OSError):  # already closed
            sock.shutdown(socket.SHUT_RDWR)


def _failure(started: float, error: str, failure: EndpointFailure | None = None) -> PostResult:
    elapsed_ms = int((time.monotonic() - started) * 1000)
    return PostResult(None, elapsed_ms, error, None, None, failure)


def _cause(exc: requests.ConnectionError) -> BaseException:
    reason = exc.args[0] if exc.args else exc
    return getattr(reason, "reason", reason)


def _blocked(exc: requests.ConnectionError) -> bool:
    return isinstance(_cause(exc), BlockedTargetError)


def _connection_error(exc: requests.ConnectionError) -> str:
    cause = _cause(exc)
    if isinstance(cause, BlockedTargetError):
        return REFUSED_NOT_PUBLIC
    if isinstance(cause, NewConnectionError) and "Connection refused" in str(cause):
        return "connection refused"
    text = str(cause)
    if "Name or service not known" in text or "NameResolution" in type(cause).__name__:
        return "host name could not be resolved"
    return f"connection failed: {type(cause).__name__}"
