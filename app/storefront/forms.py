"""The link page's form, in Bahasa Indonesia like every page a buyer sees. Flask-WTF adds the
csrf_token field and checks it; the rules are the API's (app/api/schemas.py), worded for a
buyer, so the checkout behind the form rarely refuses what the form let through."""

from __future__ import annotations

import re

from email_validator import EmailNotValidError, validate_email
from flask_wtf import FlaskForm
from wtforms import IntegerField, StringField
from wtforms.validators import DataRequired, Length, NumberRange, Optional
from wtforms.validators import ValidationError as FieldError

from app.formatting import format_rupiah
from app.models import MAX_AMOUNT, PHONE_PATTERN
from app.services.items.link import LinkItem

_NOT_DIGITS = re.compile(r"[\s.,]|^rp", re.IGNORECASE)
PHONE_RE = re.compile(PHONE_PATTERN)


class LinkForm(FlaskForm):
    buyer_email = StringField(
        "Email",
        validators=[
            DataRequired("Masukkan alamat email Anda: bukti pembayaran dikirim ke sana."),
            Length(max=254, message="Alamat email terlalu panjang."),
        ],
    )
    buyer_name = StringField(
        "Nama (opsional)",
        validators=[Optional(), Length(max=100, message="Nama paling banyak 100 karakter.")],
    )
    buyer_phone = StringField("Nomor HP (opsional)", validators=[Optional()])
    quantity = IntegerField("Jumlah", default=1)
    amount = StringField("Nominal")

    def __init__(self, item: LinkItem, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.item = item
        if not self.quantity.raw_data or self.quantity.raw_data == [""]:
            self.quantity.data = 1  # no quantity asked (one unit left): one
        self.quantity.validators = [
            NumberRange(1, item.max_quantity, f"Jumlah harus antara 1 dan {item.max_quantity}.")
        ]
        # Not "Not a valid integer value.": the range's message says it in the buyer's words.
        self.quantity.process_errors = []

    def validate_buyer_email(self, field: StringField) -> None:
        try:
            field.data = validate_email(field.data.strip(), check_deliverability=False).normalized
        except EmailNotValidError:
            raise FieldError("Alamat email tidak valid. Contoh: nama@contoh.com") from None

    def validate_buyer_phone(self, field: StringField) -> None:
        if field.data and not PHONE_RE.fullmatch(field.data.strip()):
            raise FieldError("Nomor HP hanya boleh angka, spasi, + dan -, 8 sampai 20 karakter.")

    def validate_amount(self, field: StringField) -> None:
        """The amount of a flexible item, as a buyer types it: "25000", "25.000", "Rp 25.000"."""
        if not self.item.flexible:
            field.data = None
            return
        text = _NOT_DIGITS.sub("", field.data or "")
        if not text:
            raise FieldError("Masukkan nominal yang ingin Anda bayar.")
        if not text.isdigit() or int(text) > MAX_AMOUNT:
            raise FieldError("Nominal harus berupa angka rupiah, tanpa sen.")
        amount = int(text)
        low, high = self.item.min_amount, self.item.max_amount
        if low is not None and amount < low:
            raise FieldError(f"Nominal minimal {format_rupiah(low)}.")
        if high is not None and amount > high:
            raise FieldError(f"Nominal maksimal {format_rupiah(high)}.")
        field.data = amount
