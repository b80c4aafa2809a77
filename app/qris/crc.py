"""CRC-16/CCITT-FALSE, the checksum of EMVCo Merchant-Presented QR (tag 63): polynomial 0x1021,
initial value 0xFFFF, no reflection, no final XOR. Its check value, the CRC of the ASCII bytes
"123456789", is 0x29B1 (the CRC RevEng catalogue's entry for CRC-16/IBM-3740, the same
algorithm under its other name)."""

from __future__ import annotations

_POLY = 0x1021


def _table() -> tuple[int, ...]:
    table = []
    for byte in range(256):
        crc = byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ _POLY) if crc & 0x8000 else (crc << 1)
        table.append(crc & 0xFFFF)
    return tuple(table)


_TABLE = _table()


def crc16(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc = ((crc << 8) & 0xFFFF) ^ _TABLE[(crc >> 8) ^ byte]
    return crc


def checksum(text: str) -> str:
    """Tag 63's value for a payload that ends in "6304": four upper-case hex digits over its
    UTF-8 bytes (EMVCo's own sample, with Chinese text in tag 64, checks only that way)."""
    return f"{crc16(text.encode('utf-8')):04X}"
