"""A QRIS code (EMVCo Merchant-Presented QR, the form Bank Indonesia's QRIS takes): read and
judge one, and build its dynamic form with an amount and an optional fee. Pure: text in, a
`QrisCode` or a `QrisError` out, no I/O.

Reading goes from the outside in, so that the check that catches the most is the first to
speak: the characters, then the CRC (tag 63, over everything before its value), then the data
objects and the templates inside them, then each field's rule. Any single character changed
in a valid code is therefore caught by the CRC, whatever it did to the structure.

Tag order: EMVCo requires tag 00 first and tag 63 last and nothing of the rest (its own sample
has tag 64 before tag 54), so reading accepts any order in between; what Lunas builds is in
ascending order, tag 63 last."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

from app.qris import tlv
from app.qris.crc import checksum
from app.qris.errors import QrisChecksumError, QrisFieldError, QrisFormatError
from app.qris.tlv import DataObject

MAX_LENGTH = 512  # EMVCo: the whole payload is at most 512 characters
MAX_AMOUNT = 999_999_999_999  # twelve digits: tag 54 holds thirteen characters
RUPIAH = "360"
STATIC, DYNAMIC = "11", "12"
FEE_PROMPT, FEE_FIXED, FEE_PERCENT = "01", "02", "03"
REQUIRED = ("00", "52", "53", "58", "59", "60", "63")

ACCOUNT_TEMPLATES = frozenset(f"{tag:02d}" for tag in range(26, 52))
TEMPLATES = ACCOUNT_TEMPLATES | {"62", "64"} | {f"{tag}" for tag in range(80, 100)}
_ACCOUNTS = frozenset(f"{tag:02d}" for tag in range(2, 52))

_AMOUNT = re.compile(r"[0-9]+(?:\.[0-9]+)?")
# Whole rupiah, "10000" (or "10000.00"): "50.000" is Rp 50.000 written for people, not Rp 50.
_RUPIAH_AMOUNT = re.compile(r"[0-9]+(?:\.00?)?")
_PERCENT = re.compile(r"[0-9]{1,3}(?:\.[0-9]+)?")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")

NAMES = {
    "00": "Payload format indicator",
    "01": "Point of initiation method",
    "52": "Merchant category code",
    "53": "Transaction currency",
    "54": "Transaction amount",
    "55": "Tip or convenience fee indicator",
    "56": "Convenience fee, fixed",
    "57": "Convenience fee, percentage",
    "58": "Country code",
    "59": "Merchant name",
    "60": "Merchant city",
    "61": "Postal code",
    "62": "Additional data",
    "63": "CRC",
    "64": "Merchant information in another language",
}
SUB_NAMES = {
    "account": {
        "00": "Globally unique identifier",
        "01": "Merchant PAN",
        "02": "Merchant ID",
        "03": "Merchant criteria",
    },
    "62": {
        "01": "Bill number",
        "02": "Mobile number",
        "03": "Store label",
        "04": "Loyalty number",
        "05": "Reference label",
        "06": "Customer label",
        "07": "Terminal label",
        "08": "Purpose of transaction",
        "09": "Additional consumer data request",
        "10": "Merchant tax ID",
        "11": "Merchant channel",
    },
    "64": {
        "00": "Language preference",
        "01": "Merchant name, alternate language",
        "02": "Merchant city, alternate language",
    },
}


@dataclass(frozen=True)
class Field:
    """One data object as read, named, with its own objects when it is a template."""

    tag: str
    value: str
    name: str
    children: tuple[Field, ...] = ()


@dataclass(frozen=True)
class MerchantAccount:
    tag: str
    gui: str | None
    pan: str | None
    id: str | None
    criteria: str | None


@dataclass(frozen=True)
class Fee:
    """A convenience fee for the buyer to pay on top: a fixed rupiah amount or a percentage."""

    fixed: int | None = None
    percent: Decimal | None = None


@dataclass(frozen=True)
class QrisCode:
    text: str
    fields: tuple[Field, ...]

    def value(self, tag: str) -> str | None:
        for field in self.fields:
            if field.tag == tag:
                return field.value
        return None

    def sub_value(self, tag: str, sub_tag: str) -> str | None:
        for field in self.fields:
            if field.tag == tag:
                return next((sub.value for sub in field.children if sub.tag == sub_tag), None)
        return None

    @property
    def is_dynamic(self) -> bool:
        return self.value("01") == DYNAMIC

    @property
    def amount(self) -> Decimal | None:
        text = self.value("54")
        return Decimal(text) if text is not None else None

    @property
    def crc(self) -> str:
        return self.text[-4:].upper()

    @property
    def merchant_accounts(self) -> list[MerchantAccount]:
        return [
            MerchantAccount(
                tag=field.tag,
                gui=self.sub_value(field.tag, "00"),
                pan=self.sub_value(field.tag, "01"),
                id=self.sub_value(field.tag, "02"),
                criteria=self.sub_value(field.tag, "03"),
            )
            for field in self.fields
            if field.tag in ACCOUNT_TEMPLATES
        ]

    @property
    def nmid(self) -> str | None:
        """The National Merchant ID, from the national template (tag 51) when it has one."""
        return self.sub_value("51", "02")

    @property
    def fee(self) -> Fee | str | None:
        """The fee the code asks for: a `Fee`, "prompt" when the buyer is asked for a tip,
        None when there is none."""
        indicator = self.value("55")
        if indicator == FEE_PROMPT:
            return "prompt"
        if indicator == FEE_FIXED:
            return Fee(fixed=int(Decimal(self.value("56") or "0")))
        if indicator == FEE_PERCENT:
            return Fee(percent=Decimal(self.value("57") or "0"))
        return None


def read(text: str) -> QrisCode:
    """The code `text` holds, judged whole; QrisError naming what is wrong otherwise."""
    _check_characters(text)
    _check_crc(text)
    objects = tlv.parse(text)
    _check_frame(objects)
    fields = tuple(_field(each) for each in objects)
    code = QrisCode(text, fields)
    _check_fields(code)
    return code


def with_amount(code: QrisCode, amount: int, fee: Fee | None = None) -> QrisCode:
    """The dynamic form of `code` (static or dynamic already) for `amount` rupiah: tag 01 set
    to 12, tag 54 to the amount, tags 55–57 to the fee when one is given (kept as they were
    when not), every tag in ascending order and the CRC made anew. The same code and amount
    always give the same text."""
    if code.value("53") != RUPIAH:
        raise QrisFieldError(
            f"tag 53: the code's currency is {code.value('53')}, not rupiah (360): it cannot "
            "be given a rupiah amount",
            "53",
        )
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
        raise QrisFieldError(f"the amount must be a whole number from 1 to {MAX_AMOUNT:,}", "54")
    replaced = {"01", "54", "63"} | ({"55", "56", "57"} if fee is not None else set())
    objects = [DataObject(f.tag, f.value) for f in code.fields if f.tag not in replaced]
    objects += [DataObject("01", DYNAMIC), DataObject("54", str(amount))]
    if fee is not None:
        objects += _fee_objects(fee)
    return read(build(objects))


def build(objects: Iterable[DataObject]) -> str:
    """The payload of `objects` in ascending tag order with tag 63 appended: "6304" and the
    CRC of everything before it."""
    body = tlv.encode(sorted(objects, key=lambda each: each.tag)) + "6304"
    return body + checksum(body)


def _fee_objects(fee: Fee) -> list[DataObject]:
    if (fee.fixed is None) == (fee.percent is None):
        raise QrisFieldError("a fee is either fixed or a percentage, not both or neither", "55")
    if fee.fixed is not None:
        if isinstance(fee.fixed, bool) or not 1 <= fee.fixed <= MAX_AMOUNT:
            raise QrisFieldError(f"a fixed fee must be from 1 to {MAX_AMOUNT:,} rupiah", "56")
        return [DataObject("55", FEE_FIXED), DataObject("56", str(fee.fixed))]
    percent = _percent_text(fee.percent)
    return [DataObject("55", FEE_PERCENT), DataObject("57", percent)]


def _percent_text(percent: Decimal | None) -> str:
    if percent is None or not percent.is_finite() or not 0 < percent <= 100:
        raise QrisFieldError("a percentage fee must be more than 0 and at most 100", "57")
    text = f"{percent.normalize():f}"
    if len(text) > 5:
        raise QrisFieldError("a percentage fee has at most five characters, e.g. 12.25", "57")
    return text


def _check_characters(text: str) -> None:
    if not isinstance(text, str):
        raise QrisFormatError("the code must be text")
    if not text:
        raise QrisFormatError("the code is empty")
    if len(text) > MAX_LENGTH:
        raise QrisFormatError(
            f"the code has {len(text)} characters; a QRIS code holds at most {MAX_LENGTH}"
        )
    for index, char in enumerate(text):
        point = ord(char)
        if point < 0x20 or 0x7F <= point < 0xA0 or 0xD800 <= point < 0xE000:
            raise QrisFormatError(
                f"character {index + 1} is a control character (U+{point:04X}); a QRIS code "
                "is printable text"
            )


def _check_crc(text: str) -> None:
    tail = text[-8:]
    if len(tail) < 8 or tail[:4] != "6304" or not _HEX4.fullmatch(tail[4:]):
        raise QrisChecksumError("the code must end with its CRC: 6304 and four hex digits (tag 63)")
    computed, given = checksum(text[:-4]), tail[4:].upper()
    if computed != given:
        raise QrisChecksumError(
            f"CRC mismatch: the code says {given}, its content gives {computed}; the code was "
            "changed or misread"
        )


def _check_frame(objects: list[DataObject]) -> None:
    # The CRC held over a text ending in 6304XXXX; the objects must end in exactly that tag 63.
    if objects[-1].tag != "63" or len(objects[-1].value) != 4:
        raise QrisFormatError("tag 63 (the CRC) must be the last data object", "63")
    if objects[0].tag != "00":
        raise QrisFieldError(
            f"tag 00 (payload format indicator) must come first, found tag {objects[0].tag}",
            "00",
        )


def _field(each: DataObject) -> Field:
    if each.tag not in TEMPLATES:
        return Field(each.tag, each.value, _name(each.tag))
    kind = "account" if each.tag in ACCOUNT_TEMPLATES else each.tag
    names = SUB_NAMES.get(kind, {})
    unnamed = "Template data" if int(each.tag) >= 80 else "Payment system specific"
    children = tuple(
        Field(sub.tag, sub.value, names.get(sub.tag, unnamed))
        for sub in tlv.parse(each.value, within=each.tag)
    )
    return Field(each.tag, each.value, _name(each.tag), children)


def _name(tag: str) -> str:
    if tag in NAMES:
        return NAMES[tag]
    number = int(tag)
    if 2 <= number <= 25:
        return "Merchant account (card network)"
    if 26 <= number <= 51:
        return "Merchant account information"
    if number >= 80:
        return "Unreserved template"
    return "Reserved for future use"


def _check_fields(code: QrisCode) -> None:
    tags = {field.tag for field in code.fields}
    for tag in REQUIRED:
        if tag not in tags:
            raise QrisFieldError(f"tag {tag} ({NAMES[tag].lower()}) is missing", tag)
    if not tags & _ACCOUNTS:
        raise QrisFieldError("no merchant account information (tags 02–51): nobody to pay")
    _rule("00", code.value("00") == "01", "the payload format indicator must be 01")
    initiation = code.value("01")
    _rule("01", initiation in (None, STATIC, DYNAMIC), "must be 11 (static) or 12 (dynamic)")
    _rule("52", _is_digits(code.value("52"), 4), "the merchant category code is four digits")
    _rule("53", _is_digits(code.value("53"), 3), "the currency is a three-digit ISO 4217 code")
    country = code.value("58") or ""
    _rule(
        "58",
        len(country) == 2 and country.isascii() and country.isupper(),
        "the country is two capital letters (ISO 3166), e.g. ID",
    )
    for field in code.fields:
        if field.tag in ACCOUNT_TEMPLATES:
            _rule(
                field.tag,
                any(sub.tag == "00" for sub in field.children),
                "a merchant account template starts with its globally unique identifier "
                "(sub-tag 00)",
            )
    _check_amount(code)
    _check_fee(code)


def _check_amount(code: QrisCode) -> None:
    text = code.value("54")
    if text is None:
        return
    _rule(
        "54",
        _AMOUNT.fullmatch(text) is not None and len(text) <= 13,
        f"the amount must be a number, e.g. 50000; found {text[:20]!r}",
    )
    amount = Decimal(text)
    _rule("54", amount > 0, "the amount must be more than zero")
    if code.value("53") == RUPIAH:
        _rule(
            "54",
            _RUPIAH_AMOUNT.fullmatch(text) is not None,
            f"a rupiah amount is whole rupiah in digits, e.g. 50000; {text[:20]!r} is not",
        )


def _check_fee(code: QrisCode) -> None:
    indicator = code.value("55")
    _rule(
        "55",
        indicator in (None, FEE_PROMPT, FEE_FIXED, FEE_PERCENT),
        "the fee indicator is 01 (tip asked), 02 (fixed fee) or 03 (percentage fee)",
    )
    fixed, percent = code.value("56"), code.value("57")
    if indicator == FEE_FIXED:
        _rule("56", fixed is not None, "tag 55 = 02 needs the fixed fee in tag 56")
    else:
        _rule("56", fixed is None, "a fixed fee (tag 56) needs tag 55 = 02")
    if indicator == FEE_PERCENT:
        _rule("57", percent is not None, "tag 55 = 03 needs the percentage in tag 57")
    else:
        _rule("57", percent is None, "a percentage fee (tag 57) needs tag 55 = 03")
    if fixed is not None:
        _rule(
            "56",
            _AMOUNT.fullmatch(fixed) is not None and len(fixed) <= 13,
            "the fixed fee must be a number",
        )
    if percent is not None:
        _rule(
            "57",
            _PERCENT.fullmatch(percent) is not None
            and len(percent) <= 5
            and 0 < Decimal(percent) <= 100,
            "the percentage must be more than 0, at most 100",
        )


def _rule(tag: str, holds: bool, reason: str) -> None:
    if not holds:
        raise QrisFieldError(f"tag {tag}: {reason}", tag)


def _is_digits(text: str | None, count: int) -> bool:
    return text is not None and len(text) == count and all("0" <= c <= "9" for c in text)
