"""Midtrans notification signatures: SHA-512 over the raw strings as received."""

from __future__ import annotations

import hashlib
import hmac


def compute_signature(order_id: str, status_code: str, gross_amount: str, server_key: str) -> str:
    # The raw strings, never re-formatted: "100000.00" and "100000" give different hashes.
    material = f"{order_id}{status_code}{gross_amount}{server_key}".encode()
    return hashlib.sha512(material).hexdigest()


def signature_matches(
    signature_key: str, order_id: str, status_code: str, gross_amount: str, server_key: str
) -> bool:
    expected = compute_signature(order_id, status_code, gross_amount, server_key)
    return hmac.compare_digest(expected.encode(), signature_key.strip().lower().encode())
