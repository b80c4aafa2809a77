"""What the API and the portal do with a QRIS code: read it whole, or give it an amount and
render the result as a QR code again (SVG to show, PNG to print). A QrisError becomes the API's
`invalid_qris`, naming the tag at fault."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass
from decimal import Decimal

import segno
from flask_babel import LazyString, gettext

from app import qris
from app.errors import InvalidQrisError
from app.services.qris import scan


@dataclass(frozen=True)
class Converted:
    code: qris.QrisCode
    amount: int
    svg: str
    png: bytes


def read_code(text: str, source: str = "qris") -> qris.QrisCode:
    """The code in `text` (spaces and line breaks at its ends, as a paste brings them, are
    not part of it); InvalidQrisError otherwise. `source` is the field the text came from."""
    try:
        return qris.read(text.strip())
    except qris.QrisError as exc:
        if source != "image":
            raise InvalidQrisError(exc.template, exc.tag, source, **exc.params) from None
        error = InvalidQrisError(
            "the QR code in the image is not a QRIS code: %(reason)s",
            exc.tag,
            source,
            reason=exc.reason,
        )
        # `message` (the API's) is made, in English, above; a page that translates the template
        # (portal `reason`) fills in the reason in its own language too.
        error.params["reason"] = LazyString(gettext, exc.template, **exc.params)
        raise error from None


def read_image(encoded: str) -> qris.QrisCode:
    """The code a picture sent as base64 shows."""
    return read_picture(scan.image_bytes(encoded))


def read_picture(data: bytes) -> qris.QrisCode:
    """The code a picture (its file's bytes) shows."""
    return read_code(scan.qr_text(data), source="image")


def convert(code: qris.QrisCode, amount: int, fee: qris.Fee | None = None) -> Converted:
    """`code` for `amount` rupiah (and the fee), with its QR code drawn."""
    try:
        dynamic = qris.with_amount(code, amount, fee)
    except qris.QrisError as exc:
        raise InvalidQrisError(exc.template, exc.tag, **exc.params) from None
    return Converted(dynamic, amount, qr_svg(dynamic.text), qr_png(dynamic.text))


def fee_of(fixed: int | None, percent: float | Decimal | None) -> qris.Fee | None:
    if fixed is not None:
        return qris.Fee(fixed=fixed)
    if percent is not None:
        return qris.Fee(percent=Decimal(str(percent)))
    return None


def info(code: qris.QrisCode) -> dict:
    """SPEC §14's fields of a code, and its category code and fee."""
    return {
        "valid": True,
        "is_dynamic": code.is_dynamic,
        "merchant_name": code.value("59"),
        "merchant_city": code.value("60"),
        "postal_code": code.value("61"),
        "country": code.value("58"),
        "currency": code.value("53"),
        "amount": _number(code.amount),
        "merchant_category_code": code.value("52"),
        "fee": _fee(code.fee),
        "merchant_accounts": [
            {
                "tag": account.tag,
                "gui": account.gui,
                "pan": account.pan,
                "id": account.id,
                "criteria": account.criteria,
            }
            for account in code.merchant_accounts
        ],
        "nmid": code.nmid,
        "crc": code.crc,
    }


def converted(result: Converted) -> dict:
    return {
        "qris": result.code.text,
        "amount": result.amount,
        "merchant_name": result.code.value("59"),
        "qr_svg": result.svg,
        "qr_png_base64": base64.b64encode(result.png).decode("ascii"),
    }


def qr_svg(text: str) -> str:
    buffer = io.BytesIO()
    _symbol(text).save(buffer, kind="svg", scale=8, border=4, xmldecl=False, title="QRIS")
    return buffer.getvalue().decode("utf-8")


def qr_png(text: str) -> bytes:
    buffer = io.BytesIO()
    _symbol(text).save(buffer, kind="png", scale=8, border=4)
    return buffer.getvalue()


def _symbol(text: str) -> segno.QRCode:
    # Level M, as bank stickers print: a smudge or a fold still scans.
    return segno.make(text, error="m", micro=False)


def _number(amount: Decimal | None) -> int | float | None:
    if amount is None:
        return None
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _fee(fee: qris.Fee | str | None) -> dict | None:
    if fee is None:
        return None
    if fee == "prompt":
        return {"type": "prompt"}
    if fee.fixed is not None:
        return {"type": "fixed", "amount": fee.fixed}
    return {"type": "percent", "percent": f"{fee.percent.normalize():f}"}
