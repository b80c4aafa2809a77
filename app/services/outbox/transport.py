"""HTTP POST to a merchant's endpoint: no redirects, a whole-request timeout, a 2 KB response
excerpt, and an SSRF guard checked on the address actually connected to.

Connections are kept alive between deliveries (one per merchant host in each worker thread):
a new TCP (and TLS) handshake per webhook cost more than the webhook itself."""

from __future__ import annotations

import contextlib
import functools
import heapq
import ipaddress
import itertools
import logging
import os
import socket
import threading
import time
from dataclasses import dataclass

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import NewConnectionError, ProtocolError

from app.models import EndpointFailure

EXCERPT_BYTES = 2048
# Per delivery thread: a worker process keeps at most WEBHOOK_WORKER_THREADS × this sockets open.
KEPT_ALIVE_HOSTS = 16
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


class _Request(threading.local):
    """The connections the current thread's request is using (new or kept alive), so that
    its deadline can cut them, and whether it opened one of its own."""

    connections: list[HTTPConnection] | None = None
    opened_new = False


_request = _Request()


class _GuardedConnectionMixin:
    allow_private = False

    def _new_conn(self) -> socket.socket:
        sock = self._guarded_conn()
        _request.opened_new = True
        return sock

    def request(self, *args, **kwargs):
        # Every request on this connection, on a fresh one or one kept alive since an
        # earlier delivery: the deadline must be able to cut either.
        if _request.connections is not None:
            _request.connections.append(self)
        return super().request(*args, **kwargs)

    def _guarded_conn(self) -> socket.socket:
        if not self.allow_private:
            # Resolve once, check every address, then connect to a checked address itself,
            # so a second DNS answer (rebinding) cannot swap in another target. A kept-alive
            # connection stays with the address checked when it was opened.
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


def _guarded_pools(allow_private: bool) -> dict[str, type]:
    settings = {"allow_private": allow_private}
    http_conn = type("Conn", (_GuardedHTTPConnection,), settings)
    https_conn = type("Conns", (_GuardedHTTPSConnection,), settings)
    return {
        "http": type("Pool", (HTTPConnectionPool,), {"ConnectionCls": http_conn}),
        "https": type("Pools", (HTTPSConnectionPool,), {"ConnectionCls": https_conn}),
    }


class _GuardedAdapter(HTTPAdapter):
    def __init__(self, allow_private: bool) -> None:
        self._pools = _guarded_pools(allow_private)
        # One kept-alive connection per merchant host and thread, for the last
        # KEPT_ALIVE_HOSTS hosts this thread delivered to.
        super().__init__(max_retries=0, pool_connections=KEPT_ALIVE_HOSTS, pool_maxsize=1)

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = self._pools


class _Sessions(threading.local):
    """Each thread's sessions (one per guard setting), remade in a forked child: a socket
    must never be shared with the parent."""

    pid = 0
    by_guard: dict[bool, requests.Session]


_sessions = _Sessions()


def _session(allow_private: bool) -> requests.Session:
    if _sessions.pid != os.getpid():
        _sessions.pid, _sessions.by_guard = os.getpid(), {}
    session = _sessions.by_guard.get(allow_private)
    if session is None:
        session = requests.Session()
        session.trust_env = False  # no proxy from the environment may carry it elsewhere
        adapter = _GuardedAdapter(allow_private)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        _sessions.by_guard[allow_private] = session
    return session


def close_kept_alive() -> None:
    """Close this thread's kept-alive connections: the next delivery opens (and the guard
    checks) new ones."""
    if _sessions.pid == os.getpid():
        for session in _sessions.by_guard.values():
            session.close()
        _sessions.by_guard = {}


class _Deadlines:
    """One thread that cuts every request still running at its deadline (a timer thread
    started per request costs more than a request to a fast receiver)."""

    def __init__(self) -> None:
        self._pid = 0
        self._lock = threading.Lock()

    def _reset(self) -> None:
        self._pid = os.getpid()
        self._heap: list[list] = []
        self._wake = threading.Condition(self._lock)
        self._order = itertools.count()
        threading.Thread(target=self._run, name="lunas-webhook-deadlines", daemon=True).start()

    def add(self, delay: float, action) -> list:
        """Run `action` in `delay` seconds unless cancelled; returns the handle to cancel."""
        with self._lock:
            if self._pid != os.getpid():
                self._reset()
            entry = [time.monotonic() + delay, next(self._order), action]
            heapq.heappush(self._heap, entry)
            if self._heap[0] is entry:
                self._wake.notify()
        return entry

    @staticmethod
    def cancel(entry: list) -> None:
        entry[2] = None  # left in the heap, dropped when it comes up

    def _run(self) -> None:
        with self._lock:
            while True:
                while self._heap and self._heap[0][2] is None:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._wake.wait()
                    continue
                wait = self._heap[0][0] - time.monotonic()
                if wait > 0:
                    self._wake.wait(wait)
                    continue
                action = heapq.heappop(self._heap)[2]
                if action is not None:
                    action()  # shuts sockets down: quick, and never takes this lock


_deadlines = _Deadlines()


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
    # The request went out on a kept-alive connection the server had closed: try once more.
    stale: bool = False


def post(
    url: str, body: bytes, headers: dict[str, str], timeout: float, allow_private: bool
) -> PostResult:
    started = time.monotonic()
    result = _post_once(url, body, headers, timeout, allow_private, started)
    if result.stale:
        # A connection kept alive since an earlier delivery was closed by the merchant's
        # server before it read this request: that says nothing about the endpoint. Once
        # more on a new connection, within what is left of the same deadline.
        left = timeout - (time.monotonic() - started)
        if left > 0:
            result = _post_once(url, body, headers, left, allow_private, started, timeout)
    return result


def _post_once(
    url: str,
    body: bytes,
    headers: dict[str, str],
    timeout: float,
    allow_private: bool,
    started: float,
    whole_timeout: float | None = None,
) -> PostResult:
    whole = whole_timeout or timeout
    connections: list[HTTPConnection] = []
    _request.connections, _request.opened_new = connections, False
    # requests' timeouts apply to each socket operation: a server trickling its answer byte
    # by byte would never trip them. The deadline cuts the connection after `timeout` in all.
    cut = threading.Event()
    deadline = _deadlines.add(timeout, functools.partial(_cut, connections, cut))
    response = None
    try:
        response = _session(allow_private).post(
            url,
            data=body,
            headers={"User-Agent": USER_AGENT, **headers},
            timeout=(min(timeout, 5.0), timeout),
            allow_redirects=False,
            stream=True,
        )
        raw = response.raw.read(EXCERPT_BYTES, decode_content=True) or b""
        status = response.status_code
        retry_after = response.headers.get("Retry-After")
        if not response.raw.read(1, decode_content=True):
            response.raw.release_conn()  # read to its end: kept alive for the next delivery
            response = None
    except requests.Timeout:
        return _failure(started, f"timed out after {whole:g} s", EndpointFailure.TIMEOUT)
    except requests.RequestException as exc:
        if cut.is_set():
            return _failure(started, f"timed out after {whole:g} s", EndpointFailure.TIMEOUT)
        if isinstance(exc, requests.ConnectionError):
            if not _request.opened_new and _stale(exc):
                return _failure(started, _connection_error(exc), stale=True)
            kind = None if _blocked(exc) else EndpointFailure.CONNECTION
            return _failure(started, _connection_error(exc), kind)
        return _failure(started, f"request failed: {type(exc).__name__}")
    finally:
        _deadlines.cancel(deadline)
        _request.connections = None
        if response is not None:
            response.close()  # more than the excerpt, or cut short: not worth keeping
    elapsed = time.monotonic() - started
    excerpt = raw.decode("utf-8", errors="replace")
    if cut.is_set() or elapsed > whole:
        return PostResult(
            status,
            int(elapsed * 1000),
            f"timed out after {whole:g} s",
            excerpt,
            None,
            EndpointFailure.TIMEOUT,
        )
    return PostResult(status, int(elapsed * 1000), None, excerpt, retry_after)


def _cut(connections: list[HTTPConnection], cut: threading.Event) -> None:
    cut.set()
    for connection in list(connections):
        sock = connection.sock
        if sock is not None:
            with contextlib.suppress(OSError):  # already closed
                sock.shutdown(socket.SHUT_RDWR)


def _failure(
    started: float, error: str, failure: EndpointFailure | None = None, stale: bool = False
) -> PostResult:
    elapsed_ms = int((time.monotonic() - started) * 1000)
    return PostResult(None, elapsed_ms, error, None, None, failure, stale)


def _stale(exc: requests.ConnectionError) -> bool:
    """The server closed a kept-alive connection under us (nothing of an answer came back)."""
    cause = _cause(exc)
    return isinstance(cause, (ProtocolError, ConnectionResetError, BrokenPipeError)) or (
        "RemoteDisconnected" in repr(cause)
    )


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
    if isinstance(cause, ProtocolError):
        return "connection closed without an answer"
    text = str(cause)
    if "Name or service not known" in text or "NameResolution" in type(cause).__name__:
        return "host name could not be resolved"
    return f"connection failed: {type(cause).__name__}"
