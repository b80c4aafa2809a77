"""Portal forms. Flask-WTF adds the csrf_token field and checks it."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext, lazy_gettext
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    PasswordField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, EqualTo, Length, Optional, Regexp, ValidationError

from app.errors import ValidationError as ServiceValidationError
from app.models import MAX_AMOUNT, Item, PriceMode
from app.models.item import SLUG_PATTERN
from app.services.accounts.users import MIN_PASSWORD_LENGTH, normalize_email

# WTForms' Length fills in %(min)d and %(max)d from its own arguments.
PASSWORD_LENGTH = lazy_gettext("Password must be at least %(min)d characters.")
TOO_LONG = lazy_gettext("Field cannot be longer than %(max)d characters.")
PASSWORDS_DIFFER = lazy_gettext("The passwords do not match.")


class RegisterForm(FlaskForm):
    email = StringField(
        lazy_gettext("Email"),
        validators=[DataRequired(message=lazy_gettext("Enter your email address."))],
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[
            DataRequired(message=lazy_gettext("Choose a password.")),
            Length(min=MIN_PASSWORD_LENGTH, message=PASSWORD_LENGTH),
        ],
    )
    password_confirm = PasswordField(
        lazy_gettext("Confirm password"),
        validators=[
            DataRequired(message=lazy_gettext("Repeat the password.")),
            EqualTo("password", message=PASSWORDS_DIFFER),
        ],
    )

    def validate_email(self, field: StringField) -> None:
        try:
            field.data = normalize_email(field.data)
        except ServiceValidationError:
            raise ValidationError(gettext("Enter a valid email address.")) from None


class LoginForm(FlaskForm):
    email = StringField(
        lazy_gettext("Email"),
        validators=[DataRequired(message=lazy_gettext("Enter your email address."))],
    )
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[DataRequired(message=lazy_gettext("Enter your password."))],
    )


class ChangePasswordForm(FlaskForm):
    current_password = PasswordField(
        lazy_gettext("Current password"),
        validators=[DataRequired(message=lazy_gettext("Enter your current password."))],
    )
    new_password = PasswordField(
        lazy_gettext("New password"),
        validators=[
            DataRequired(message=lazy_gettext("Choose a new password.")),
            Length(min=MIN_PASSWORD_LENGTH, message=PASSWORD_LENGTH),
        ],
    )
    new_password_confirm = PasswordField(
        lazy_gettext("Confirm new password"),
        validators=[
            DataRequired(message=lazy_gettext("Repeat the new password.")),
            EqualTo("new_password", message=PASSWORDS_DIFFER),
        ],
    )


class ProjectForm(FlaskForm):
    name = StringField(
        lazy_gettext("Project name"),
        validators=[DataRequired(message=lazy_gettext("Give the project a name."))],
    )
    store_url_template = StringField(lazy_gettext("Store URL template (optional)"))


class NewProjectForm(ProjectForm):
    # One token per form shown: the same form sent twice (a reload of the "created" page)
    # finds the project it made instead of making a second one.
    creation_token = HiddenField()


class RotateSecretForm(FlaskForm):
    revoke_old_now = BooleanField(lazy_gettext("Revoke the old secret at once (it has leaked)"))


class WebhookUrlForm(FlaskForm):
    url = StringField(lazy_gettext("Webhook URL"))


class ResendFailedForm(FlaskForm):
    since = StringField(lazy_gettext("Failed deliveries created since (WIB)"))


class ConfirmPasswordForm(FlaskForm):
    password = PasswordField(
        lazy_gettext("Password"),
        validators=[DataRequired(message=lazy_gettext("Enter your password."))],
    )


class ForgotPasswordForm(FlaskForm):
    email = StringField(
        lazy_gettext("Email"),
        validators=[DataRequired(message=lazy_gettext("Enter your email address."))],
    )


class ResetPasswordForm(FlaskForm):
    password = PasswordField(
        lazy_gettext("New password"),
        validators=[
            DataRequired(message=lazy_gettext("Choose a new password.")),
            Length(min=MIN_PASSWORD_LENGTH, message=PASSWORD_LENGTH),
        ],
    )
    password_confirm = PasswordField(
        lazy_gettext("Confirm new password"),
        validators=[
            DataRequired(message=lazy_gettext("Repeat the new password.")),
            EqualTo("password", message=PASSWORDS_DIFFER),
        ],
    )


class ButtonForm(FlaskForm):
    """A form that is only a button: the CSRF token is all it carries."""


MAX_STOCK = 1_000_000_000


def _rupiah(text: str | None) -> int | None:
    """ "25000", "25.000" or "Rp 25.000" → 25000; None for nothing; ValueError otherwise."""
    cleaned = (text or "").strip().removeprefix("Rp").replace(".", "").replace(" ", "")
    if not cleaned:
        return None
    if not cleaned.isdigit() or not 1 <= int(cleaned) <= MAX_AMOUNT:
        raise ValueError
    return int(cleaned)


class ItemForm(FlaskForm):
    """An item's fields (SPEC §13) with its image and delivery; the price rules between the
    fields are the catalog's, shown on the field they name."""

    name = StringField(
        lazy_gettext("Name"),
        validators=[
            DataRequired(message=lazy_gettext("Give the item a name.")),
            Length(max=200, message=TOO_LONG),
        ],
    )
    description = TextAreaField(
        lazy_gettext("Description"), validators=[Optional(), Length(max=2000, message=TOO_LONG)]
    )
    price_mode = SelectField(
        lazy_gettext("Price"),
        choices=[
            SelectChoice(PriceMode.FIXED.value, lazy_gettext("Fixed price")),
            SelectChoice(PriceMode.FLEXIBLE.value, lazy_gettext("Buyer chooses")),
        ],
        default=PriceMode.FIXED.value,
    )
    price = StringField(lazy_gettext("Price (Rp)"))
    min_amount = StringField(lazy_gettext("Minimum (Rp)"))
    max_amount = StringField(lazy_gettext("Maximum (Rp, optional)"))
    allow_price_override = BooleanField(
        lazy_gettext("Your server may set another price at checkout")
    )
    slug = StringField(
        lazy_gettext("Link name"),
        validators=[
            Optional(),
            Regexp(SLUG_PATTERN, message=lazy_gettext("3-64 characters of a-z, 0-9 and -.")),
        ],
    )
    stock = StringField(lazy_gettext("Stock (empty: unlimited)"))
    # The stock as the form showed it: unchanged, it is not written back, so units taken by
    # checkouts while the form was open are not handed out again.
    stock_was = HiddenField()
    active = BooleanField(lazy_gettext("On sale"), default=True)
    delivery_text = TextAreaField(
        lazy_gettext("Hidden text for the buyer"),
        validators=[Optional(), Length(max=10_000, message=TOO_LONG)],
    )
    image = FileField(lazy_gettext("Image (PNG, JPEG or WebP, up to 2 MB)"))
    delivery_file = FileField(lazy_gettext("File for the buyer (up to 25 MB)"))

    @staticmethod
    def values_of(item: Item) -> dict[str, Any]:
        def shown(amount: int | None) -> str:
            return "" if amount is None else str(amount)

        return {
            "name": item.name,
            "description": item.description,
            "price_mode": str(item.price_mode),
            "price": shown(item.price),
            "min_amount": shown(item.min_amount),
            "max_amount": shown(item.max_amount),
            "allow_price_override": item.allow_price_override,
            "slug": item.slug,
            "stock": shown(item.stock),
            "stock_was": shown(item.stock),
            "active": item.active,
        }

    def validate_price(self, field: StringField) -> None:
        self._amount(field, required=self.price_mode.data == PriceMode.FIXED)

    def validate_min_amount(self, field: StringField) -> None:
        self._amount(field, required=self.price_mode.data == PriceMode.FLEXIBLE)

    def validate_max_amount(self, field: StringField) -> None:
        self._amount(field, required=False)

    def validate_stock(self, field: StringField) -> None:
        text = (field.data or "").strip().replace(".", "")
        if text and not (text.isdigit() and int(text) <= MAX_STOCK):
            raise ValidationError(
                gettext("Stock is a whole number of units, or empty for unlimited.")
            )

    def _amount(self, field: StringField, required: bool) -> None:
        try:
            amount = _rupiah(field.data)
        except ValueError:
            raise ValidationError(gettext("Enter a whole number of Rupiah, at least 1.")) from None
        if amount is None and required:
            raise ValidationError(gettext("Enter the amount in Rupiah."))

    def item_fields(self, creating: bool) -> dict[str, Any]:
        """The catalog's fields from a valid form."""
        flexible = self.price_mode.data == PriceMode.FLEXIBLE
        stock = (self.stock.data or "").strip().replace(".", "")
        fields: dict[str, Any] = {
            "name": self.name.data.strip(),
            "description": (self.description.data or "").strip(),
            "price_mode": self.price_mode.data,
            "price": None if flexible else _rupiah(self.price.data),
            "min_amount": _rupiah(self.min_amount.data) if flexible else None,
            "max_amount": _rupiah(self.max_amount.data) if flexible else None,
            "allow_price_override": bool(self.allow_price_override.data),
            "stock": int(stock) if stock else None,
            "active": bool(self.active.data),
        }
        if not creating and stock == (self.stock_was.data or ""):
            del fields["stock"]
        if self.slug.data:
            fields["slug"] = self.slug.data
        if self.delivery_text.data and self.delivery_text.data.strip():
            fields["delivery"] = self.delivery_text.data
        return fields


class QrisForm(FlaskForm):
    """Tools → QRIS: a code pasted or photographed; with an amount, its dynamic form."""

    qris = TextAreaField(lazy_gettext("QRIS code (the text it holds)"))
    image = FileField(lazy_gettext("…or a picture of it (PNG, JPEG or WebP, up to 2 MB)"))
    amount = StringField(lazy_gettext("Amount (Rp)"))
    fee = SelectField(
        lazy_gettext("Fee for the buyer"),
        choices=[
            SelectChoice("none", lazy_gettext("No fee")),
            SelectChoice("fixed", lazy_gettext("Fixed (Rp)")),
            SelectChoice("percent", lazy_gettext("Percentage (%)")),
        ],
        default="none",
    )
    fee_value = StringField(lazy_gettext("Fee"))

    def has_picture(self) -> bool:
        return bool(getattr(self.image.data, "filename", None))

    def validate_qris(self, field: TextAreaField) -> None:
        if not (field.data or "").strip() and not self.has_picture():
            raise ValidationError(gettext("Paste the code's text or choose a picture of it."))

    def validate_amount(self, field: StringField) -> None:
        try:
            self.amount_value = _rupiah(field.data)
        except ValueError:
            maximum = f"{MAX_AMOUNT:,}".replace(",", ".")
            raise ValidationError(
                gettext("Write the amount in whole rupiah, from 1 to %(maximum)s", maximum=maximum)
            ) from None

    def validate_fee_value(self, field: StringField) -> None:
        self.fee_fixed = self.fee_percent = None
        text = (field.data or "").strip()
        if self.fee.data == "none":
            return
        if not text:
            raise ValidationError(gettext("Write the fee, or choose No fee."))
        if self.fee.data == "fixed":
            try:
                self.fee_fixed = _rupiah(text)
            except ValueError:
                raise ValidationError(
                    gettext("Write the fee in whole rupiah, e.g. 2.500.")
                ) from None
            return
        try:
            percent = Decimal(text.removesuffix("%").strip().replace(",", "."))
        except InvalidOperation:
            percent = None
        if (
            percent is None
            or not percent.is_finite()
            or not 0 < percent <= 100
            or ((percent * 100) % 1)
        ):
            raise ValidationError(
                gettext("Write a percentage more than 0 and at most 100, e.g. 0,7.")
            )
        self.fee_percent = percent
