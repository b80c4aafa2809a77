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
_MAXIMUM = f"{MAX_AMOUNT:,}"  # as the errors write it
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


def N_(text: str) -> str:
    """A field's name, marked for translation: extracted by this name (scripts/translations.sh),
    translated by the portal page that shows it. English here and in the API."""
    return text


NAMES = {
    "00": N_("Payload format indicator"),
    "01": N_("Point of initiation method"),
    "52": N_("Merchant category code"),
    "53": N_("Transaction currency"),
    "54": N_("Transaction amount"),
    "55": N_("Tip or convenience fee indicator"),
    "56": N_("Convenience fee, fixed"),
    "57": N_("Convenience fee, percentage"),
    "58": N_("Country code"),
    "59": N_("Merchant name"),
    "60": N_("Merchant city"),
    "61": N_("Postal code"),
    "62": N_("Additional data"),
    "63": N_("CRC"),
    "64": N_("Merchant information in another language"),
}
SUB_NAMES = {
    "account": {
        "00": N_("Globally unique identifier"),
        "01": N_("Merchant PAN"),
        "02": N_("Merchant ID"),
        "03": N_("Merchant criteria"),
    },
    "62": {
        "01": N_("Bill number"),
        "02": N_("Mobile number"),
        "03": N_("Store label"),
        "04": N_("Loyalty number"),
        "05": N_("Reference label"),
        "06": N_("Customer label"),
        "07": N_("Terminal label"),
        "08": N_("Purpose of transaction"),
        "09": N_("Additional consumer data request"),
        "10": N_("Merchant tax ID"),
        "11": N_("Merchant channel"),
    },
    "64": {
        "00": N_("Language preference"),
        "01": N_("Merchant name, alternate language"),
        "02": N_("Merchant city, alternate language"),
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
            "tag 53: the code's currency is %(currency)s, not rupiah (360): it cannot be given a "
            "rupiah amount",
            "53",
            currency=code.value("53"),
        )
    if isinstance(amount, bool) or not isinstance(amount, int) or not 1 <= amount <= MAX_AMOUNT:
        raise QrisFieldError(
            "the amount must be a whole number from 1 to %(maximum)s", "54", maximum=_MAXIMUM
        )
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
            raise QrisFieldError(
                "a fixed fee must be from 1 to %(maximum)s rupiah", "56", maximum=_MAXIMUM
            )
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
            "the code has %(length)s characters; a QRIS code holds at most %(maximum)s",
            length=len(text),
            maximum=MAX_LENGTH,
        )
    for index, char in enumerate(text):
        point = ord(char)
        if point < 0x20 or 0x7F <= point < 0xA0 or 0xD800 <= point < 0xE000:
            raise QrisFormatError(
                "character %(position)s is a control character (U+%(point)s); a QRIS code is "
                "printable text",
                position=index + 1,
                point=format(point, "04X"),
            )


def _check_crc(text: str) -> None:
    tail = text[-8:]
    if len(tail) < 8 or tail[:4] != "6304" or not _HEX4.fullmatch(tail[4:]):
        raise QrisChecksumError("the code must end with its CRC: 6304 and four hex digits (tag 63)")
    computed, given = checksum(text[:-4]), tail[4:].upper()
    if computed != given:
        raise QrisChecksumError(
            "CRC mismatch: the code says %(given)s, its content gives %(computed)s; the code was "
            "changed or misread",
            given=given,
            computed=computed,
        )


def _check_frame(objects: list[DataObject]) -> None:
    # The CRC held over a text ending in 6304XXXX; the objects must end in exactly that tag 63.
    if objects[-1].tag != "63" or len(objects[-1].value) != 4:
        raise QrisFormatError("tag 63 (the CRC) must be the last data object", "63")
    if objects[0].tag != "00":
        raise QrisFieldError(
            "tag 00 (payload format indicator) must come first, found tag %(id)s",
            "00",
            id=objects[0].tag,
        )


def _field(each: DataObject) -> Field:
    if each.tag not in TEMPLATES:
        return Field(each.tag, each.value, _name(each.tag))
    kind = "account" if each.tag in ACCOUNT_TEMPLATES else each.tag
    names = SUB_NAMES.get(kind, {})
    unnamed = N_("Template data") if int(each.tag) >= 80 else N_("Payment system specific")
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
        return N_("Merchant account (card network)")
    if 26 <= number <= 51:
        return N_("Merchant account information")
    if number >= 80:
        return N_("Unreserved template")
    return N_("Reserved for future use")


def _check_fields(code: QrisCode) -> None:
    tags = {field.tag for field in code.fields}
    for tag in REQUIRED:
        if tag not in tags:
            raise _missing(tag)
    if not tags & _ACCOUNTS:
        raise QrisFieldError("no merchant account information (tags 02–51): nobody to pay")
    if code.value("00") != "01":
        raise QrisFieldError("tag 00: the payload format indicator must be 01", "00")
    if code.value("01") not in (None, STATIC, DYNAMIC):
        raise QrisFieldError("tag 01: must be 11 (static) or 12 (dynamic)", "01")
    if not _is_digits(code.value("52"), 4):
        raise QrisFieldError("tag 52: the merchant category code is four digits", "52")
    if not _is_digits(code.value("53"), 3):
        raise QrisFieldError("tag 53: the currency is a three-digit ISO 4217 code", "53")
    country = code.value("58") or ""
    if not (len(country) == 2 and country.isascii() and country.isupper()):
        raise QrisFieldError("tag 58: the country is two capital letters (ISO 3166), e.g. ID", "58")
    for field in code.fields:
        if field.tag in ACCOUNT_TEMPLATES and not any(sub.tag == "00" for sub in field.children):
            raise QrisFieldError(
                "tag %(id)s: a merchant account template starts with its globally unique "
                "identifier (sub-tag 00)",
                field.tag,
                id=field.tag,
            )
    _check_amount(code)
    _check_fee(code)


def _missing(tag: str) -> QrisFieldError:
    """A required tag absent: one sentence each, named, so that each is translated whole."""
    return {
        "00": lambda: QrisFieldError("tag 00 (payload format indicator) is missing", "00"),
        "52": lambda: QrisFieldError("tag 52 (merchant category code) is missing", "52"),
        "53": lambda: QrisFieldError("tag 53 (transaction currency) is missing", "53"),
        "58": lambda: QrisFieldError("tag 58 (country code) is missing", "58"),
        "59": lambda: QrisFieldError("tag 59 (merchant name) is missing", "59"),
        "60": lambda: QrisFieldError("tag 60 (merchant city) is missing", "60"),
        "63": lambda: QrisFieldError("tag 63 (crc) is missing", "63"),
    }[tag]()


def _check_amount(code: QrisCode) -> None:
    text = code.value("54")
    if text is None:
        return
    if not (_AMOUNT.fullmatch(text) is not None and len(text) <= 13):
        raise QrisFieldError(
            "tag 54: the amount must be a number, e.g. 50000; found %(found)s",
            "54",
            found=repr(text[:20]),
        )
    amount = Decimal(text)
    if not amount > 0:
        raise QrisFieldError("tag 54: the amount must be more than zero", "54")
    if code.value("53") == RUPIAH and _RUPIAH_AMOUNT.fullmatch(text) is None:
        raise QrisFieldError(
            "tag 54: a rupiah amount is whole rupiah in digits, e.g. 50000; %(found)s is not",
            "54",
            found=repr(text[:20]),
        )


def _check_fee(code: QrisCode) -> None:
    indicator = code.value("55")
    if indicator not in (None, FEE_PROMPT, FEE_FIXED, FEE_PERCENT):
        raise QrisFieldError(
            "tag 55: the fee indicator is 01 (tip asked), 02 (fixed fee) or 03 (percentage fee)",
            "55",
        )
    fixed, percent = code.value("56"), code.value("57")
    if indicator == FEE_FIXED and fixed is None:
        raise QrisFieldError("tag 56: tag 55 = 02 needs the fixed fee in tag 56", "56")
    if indicator != FEE_FIXED and fixed is not None:
        raise QrisFieldError("tag 56: a fixed fee (tag 56) needs tag 55 = 02", "56")
    if indicator == FEE_PERCENT and percent is None:
        raise QrisFieldError("tag 57: tag 55 = 03 needs the percentage in tag 57", "57")
    if indicator != FEE_PERCENT and percent is not None:
        raise QrisFieldError("tag 57: a percentage fee (tag 57) needs tag 55 = 03", "57")
    if fixed is not None and not (_AMOUNT.fullmatch(fixed) is not None and len(fixed) <= 13):
        raise QrisFieldError("tag 56: the fixed fee must be a number", "56")
    if percent is not None and not (
        _PERCENT.fullmatch(percent) is not None
        and len(percent) <= 5
        and 0 < Decimal(percent) <= 100
    ):
        raise QrisFieldError("tag 57: the percentage must be more than 0, at most 100", "57")


def _is_digits(text: str | None, count: int) -> bool:
    return text is not None and len(text) == count and all("0" <= c <= "9" for c in text)
