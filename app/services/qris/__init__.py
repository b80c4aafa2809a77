"""The QRIS tools (SPEC §14): read a code, give a static one its amount, from text or from a
picture of it. The codes themselves are app/qris; this package adds the picture (scan.py) and
the QR rendered back (tools.py)."""
