"""QRIS (EMVCo Merchant-Presented QR) codes: read, judge and build them (SPEC §14). Pure: no
I/O, no Flask, no database; `app/services/qris` puts it to work."""

from app.qris.code import (
    MAX_AMOUNT,
    MAX_LENGTH,
    Fee,
    Field,
    MerchantAccount,
    QrisCode,
    read,
    with_amount,
)
from app.qris.crc import checksum, crc16
from app.qris.errors import QrisChecksumError, QrisError, QrisFieldError, QrisFormatError

__all__ = [
    "MAX_AMOUNT",
    "MAX_LENGTH",
    "Fee",
    "Field",
    "MerchantAccount",
    "QrisChecksumError",
    "QrisCode",
    "QrisError",
    "QrisFieldError",
    "QrisFormatError",
    "checksum",
    "crc16",
    "read",
    "with_amount",
]
