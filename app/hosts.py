"""The one rule for "this machine": a host name or address that can only be loopback."""

from __future__ import annotations

import ipaddress


def is_loopback_host(host: str | None) -> bool:
    """localhost, any name under .localhost (RFC 6761 keeps them on this machine), or a
    loopback address (127.0.0.0/8, ::1). Used wherever a setting is allowed for a trial on one
    machine: http instead of https, no HSTS, a password over SMTP without TLS."""
    if not host:
        return False
    host = host.lower().rstrip(".")
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
