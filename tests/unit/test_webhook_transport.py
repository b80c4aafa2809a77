"""The webhook transport's SSRF guard: which addresses a webhook may reach, and that a
refused target is refused before any connection is attempted.

Nothing here may send traffic to a private network: every test that posts to an address outside
this machine first installs a tripwire that fails any connection attempt."""

from __future__ import annotations

import datetime
import logging
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests.adapters
import urllib3.util.connection
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from app.models import EndpointFailure
from app.services.outbox import transport
from app.services.outbox.transport import forbidden_reason
from tests.receiver import MerchantReceiver

REFUSED = [
    "127.0.0.1",
    "10.0.0.1",
    "172.16.0.1",
    "192.168.1.1",
    "169.254.169.254",
    "::1",
    "::ffff:127.0.0.1",
    "::ffff:10.0.0.1",
    "::ffff:169.254.169.254",
    "fe80::1",
    "fe80::1%eth0",
    "fc00::1",
    "224.0.0.1",
    "ff02::1",
    "0.0.0.0",  # noqa: S104  (an address to refuse, not one to bind)
    "::",
    "100.64.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "2002:7f00:1::1",  # 6to4 carrying 127.0.0.1
    "2002:a9fe:a9fe::1",  # 6to4 carrying 169.254.169.254
    "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
]
ALLOWED = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "2001:4860:4860::8888",
    "2606:4700:4700::1111",
    "::ffff:8.8.8.8",
    "2002:808:808::1",  # 6to4 carrying 8.8.8.8, a public address
]
BODY = b'{"event":"item.purchased"}'
HEADERS = {"Content-Type": "application/json", "webhook-id": "evt_test"}


class Tripwire:
    """Stands in for every way urllib3 can open a TCP connection; records and refuses."""

    def __init__(self) -> None:
        self.attempts: list[tuple] = []

    def create_connection(self, address, *args, **kwargs):
        self.attempts.append(address)
        raise ConnectionRefusedError(111, "Connection refused (tripwire)")

    def connect(self, address):  # installed on socket.socket: called bound to the tripwire
        self.attempts.append(address)
        raise ConnectionRefusedError(111, "Connection refused (tripwire)")


@pytest.fixture
def tripwire(monkeypatch) -> Tripwire:
    wire = Tripwire()
    monkeypatch.setattr(urllib3.util.connection, "create_connection", wire.create_connection)
    monkeypatch.setattr(socket.socket, "connect", wire.connect)
    monkeypatch.setattr(socket.socket, "connect_ex", wire.connect)
    return wire


def post(url: str, allow_private: bool) -> transport.PostResult:
    return transport.post(url, BODY, HEADERS, timeout=2, allow_private=allow_private)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# -- which addresses ---------------------------------------------------------------------------


@pytest.mark.parametrize("address", REFUSED)
def test_a_non_public_address_is_forbidden(address):
    assert forbidden_reason(address) is not None


@pytest.mark.parametrize("address", ALLOWED)
def test_a_public_address_is_allowed(address):
    assert forbidden_reason(address) is None


@pytest.mark.parametrize(
    ("address", "reason"),
    [
        ("127.0.0.1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("224.0.0.1", "multicast"),
        ("100.64.0.1", "not globally routable"),
    ],
)
def test_the_reason_names_what_the_address_is(address, reason):
    assert forbidden_reason(address) == reason


# -- the tripwire itself -----------------------------------------------------------------------


def test_the_tripwire_catches_a_connection_the_guard_lets_through(tripwire):
    # guard off: the transport really tries to connect, and the tripwire stops it
    result = post(f"http://127.0.0.1:{closed_port()}/", allow_private=True)

    assert len(tripwire.attempts) == 1
    assert result.http_status is None
    assert result.error == "connection refused"
    assert result.failure == EndpointFailure.CONNECTION  # what the circuit breaker counts


# -- refused before connecting -----------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:{port}/hooks",
        "http://10.0.0.1/hooks",
        "https://10.0.0.1/hooks",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]:{port}/hooks",
        "http://[::ffff:127.0.0.1]:{port}/hooks",
        "http://localhost:{port}/hooks",
    ],
)
def test_the_guard_refuses_a_private_target_before_connecting(tripwire, url):
    result = post(url.format(port=closed_port()), allow_private=False)

    assert tripwire.attempts == []
    assert result.http_status is None
    assert result.error == "refused: not a public address"


def test_the_refusal_keeps_the_address_and_why_for_the_server_log_only(tripwire, caplog):
    with caplog.at_level(logging.WARNING, logger="app.services.outbox.transport"):
        result = post("http://169.254.169.254/latest/meta-data/", allow_private=False)

    assert result.error == "refused: not a public address"
    assert "169.254.169.254" not in result.error
    assert result.failure is None  # the endpoint did not fail: nothing left this machine
    assert "refused by the SSRF guard: 169.254.169.254 is private" in caplog.text


def test_a_host_name_is_judged_by_the_addresses_it_resolves_to(tripwire, monkeypatch, caplog):
    def resolve(host, port, *args, **kwargs):
        assert host == "hooks.merchant.example"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port))]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    with caplog.at_level(logging.WARNING, logger="app.services.outbox.transport"):
        result = post("http://hooks.merchant.example/lunas", allow_private=False)

    assert tripwire.attempts == []
    assert result.error == "refused: not a public address"
    assert "10.1.2.3" not in result.error
    assert "hooks.merchant.example refused by the SSRF guard: 10.1.2.3 is private" in caplog.text


def test_the_guard_connects_only_to_an_address_it_checked(tripwire, monkeypatch):
    # the name resolves to a private and a public address: only the public one is dialled
    def resolve(host, port, *args, **kwargs):
        return [
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.1.2.3", port)),
            (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", port)),
        ]

    monkeypatch.setattr(socket, "getaddrinfo", resolve)

    post("http://hooks.merchant.example/lunas", allow_private=False)

    assert tripwire.attempts == [("93.184.216.34", 80)]


# -- reaching a receiver -----------------------------------------------------------------------


def test_with_private_targets_allowed_a_local_receiver_is_reached():
    with MerchantReceiver() as receiver:
        result = post(receiver.url, allow_private=True)

        [received] = receiver.wait_for(1)
    assert (result.http_status, result.error, result.excerpt) == (200, None, "ok")
    assert received.body == BODY
    assert received.headers["webhook-id"] == "evt_test"


def test_without_private_targets_a_local_receiver_gets_nothing():
    with MerchantReceiver() as receiver:
        result = post(receiver.url, allow_private=False)

        assert receiver.received == []
    assert result.error == "refused: not a public address"


# -- HTTPS through the guard -------------------------------------------------------------------

MERCHANT_HOST = "hooks.merchant.example"


@pytest.fixture
def tls_receiver(tmp_path: Path, monkeypatch) -> Iterator[tuple[str, list[str]]]:
    """An HTTPS merchant endpoint for MERCHANT_HOST, served on this machine with a certificate
    that requests trusts; the guard treats its loopback address as if it were public."""
    cert_file, key_file = _self_signed(tmp_path, MERCHANT_HOST)
    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_POST(self):
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()

    real_getaddrinfo = socket.getaddrinfo
    real_forbidden_reason = transport.forbidden_reason

    def resolve(host, *args, **kwargs):
        return real_getaddrinfo("127.0.0.1" if host == MERCHANT_HOST else host, *args, **kwargs)

    def public_for_this_test(address: str) -> str | None:
        return None if address == "127.0.0.1" else real_forbidden_reason(address)

    monkeypatch.setattr(socket, "getaddrinfo", resolve)
    monkeypatch.setattr(transport, "forbidden_reason", public_for_this_test)
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(cert_file))
    yield f"https://{MERCHANT_HOST}:{server.server_port}/hooks/lunas", hosts
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


@pytest.mark.parametrize("allow_private", [True, False], ids=["guard-off", "guard-on"])
def test_https_verifies_the_merchant_certificate_for_its_host_name(tls_receiver, allow_private):
    url, hosts = tls_receiver

    result = post(url, allow_private=allow_private)

    # the guard dials a checked address but TLS (SNI, certificate) and Host keep the name
    assert (result.http_status, result.error) == (204, None)
    assert hosts == [url.split("/")[2]]


def _self_signed(directory: Path, host: str) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host)])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(host)]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = directory / "merchant.pem", directory / "merchant.key"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_file, key_file


def test_a_server_trickling_its_answer_is_cut_at_the_whole_request_timeout():
    # given a server that sends its status line one byte every 0.2 s (never idle long
    # enough for a per-read timeout)
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    stop = threading.Event()

    def trickle():
        conn, _ = listener.accept()
        with conn:
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nX-Slow: " + b"y" * 100:
                if stop.is_set():
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:
                    return
                time.sleep(0.2)

    thread = threading.Thread(target=trickle, daemon=True)
    thread.start()
    try:
        started = time.monotonic()
        result = transport.post(
            f"http://127.0.0.1:{port}/", b"{}", {}, timeout=1.0, allow_private=True
        )
        elapsed = time.monotonic() - started
    finally:
        stop.set()
        listener.close()
        thread.join(timeout=5)

    # then the attempt ends at about the timeout, as a timeout, not 20 s later
    assert result.error == "timed out after 1 s"
    assert result.failure == EndpointFailure.TIMEOUT  # what the circuit breaker counts
    assert result.http_status is None
    assert elapsed < 2.0


# -- kept-alive connections --------------------------------------------------------------------

OK_KEEP_ALIVE = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"


class ScriptedServer:
    """A raw HTTP/1.1 server on loopback: `script(n, request_number_on_this_connection)` says
    what to do with each request it reads, "answer" (200, kept alive) or "drop" (close the
    connection without a word); it records (connection number, webhook-id) per request."""

    def __init__(self, script) -> None:
        self.script = script
        self.requests: list[tuple[int, str]] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/hooks"
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        number = 0
        while True:
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            number += 1
            threading.Thread(target=self._connection, args=(conn, number), daemon=True).start()

    def _connection(self, conn: socket.socket, number: int) -> None:
        with conn:
            buffer, served = b"", 0
            while True:
                while b"\r\n\r\n" not in buffer:
                    chunk = conn.recv(65536)
                    if not chunk:
                        return
                    buffer += chunk
                head, _, rest = buffer.partition(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                fields = dict(line.split(": ", 1) for line in lines[1:])
                length = int(fields.get("Content-Length", 0))
                while len(rest) < length:
                    rest += conn.recv(65536)
                buffer = rest[length:]
                served += 1
                self.requests.append((number, fields.get("webhook-id", "")))
                if self.script(number, served) == "drop":
                    return
                conn.sendall(OK_KEEP_ALIVE)

    def close(self) -> None:
        self.listener.close()


def post_as(url: str, event_id: str) -> transport.PostResult:
    headers = {**HEADERS, "webhook-id": event_id}
    return transport.post(url, BODY, headers, timeout=2, allow_private=True)


def test_deliveries_to_one_host_share_a_kept_alive_connection():
    server = ScriptedServer(lambda connection, request: "answer")
    try:
        results = [post_as(server.url, f"evt_{n}") for n in range(3)]
    finally:
        server.close()
        transport.close_kept_alive()

    assert [result.http_status for result in results] == [200, 200, 200]
    # one TCP connection (one handshake) carried all three
    assert server.requests == [(1, "evt_0"), (1, "evt_1"), (1, "evt_2")]


def test_a_kept_alive_connection_the_server_dropped_is_retried_once_on_a_new_one():
    # given a server that answers a connection's first request, then closes it on reading the
    # next (as a server closing an idle connection just as a request goes out)
    server = ScriptedServer(lambda connection, request: "answer" if request == 1 else "drop")
    try:
        first = post_as(server.url, "evt_first")
        second = post_as(server.url, "evt_second")
    finally:
        server.close()
        transport.close_kept_alive()

    # then the second delivery is made again on a new connection and succeeds, counted once
    assert (first.http_status, second.http_status, second.error) == (200, 200, None)
    assert second.failure is None and not second.stale
    assert server.requests == [(1, "evt_first"), (1, "evt_second"), (2, "evt_second")]


def test_a_new_connection_dropped_without_an_answer_is_a_failure_not_retried():
    server = ScriptedServer(lambda connection, request: "drop")
    try:
        result = post_as(server.url, "evt_dropped")
    finally:
        server.close()
        transport.close_kept_alive()

    assert result.http_status is None
    assert result.failure == EndpointFailure.CONNECTION  # what the circuit breaker counts
    assert result.error == "connection closed without an answer"
    assert server.requests == [(1, "evt_dropped")]
