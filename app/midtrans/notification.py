"""The body of Midtrans's HTTP notification: the fields Lunas reads before it trusts anything
(SPEC §4, midtrans.md §3). Midtrans sends many more (va_numbers, settlement_time, …) that
vary by payment type; they are allowed, kept in the stored raw body, and never required."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, StrictStr


def _not_blank(value: str) -> str:
    if not value.strip():
        raise ValueError("blank")
    return value


Required = Annotated[StrictStr, AfterValidator(_not_blank)]


class NotificationBody(BaseModel):
    """Midtrans signs order_id + status_code + gross_amount with the server key
    (signature_key, SHA-512 hex); Lunas then asks Get Status for the truth."""

    model_config = ConfigDict(
        strict=True,
        extra="allow",
        json_schema_extra={
            "examples": [
                {
                    "transaction_time": "2026-05-06 17:00:01",
                    "transaction_status": "settlement",
                    "transaction_id": "9aed5972-5b6a-401e-894b-a32c91ed1a3a",
                    "status_message": "midtrans payment notification",
                    "status_code": "200",
                    "signature_key": "fe5f725e…5107",
                    "settlement_time": "2026-05-06 17:00:03",
                    "payment_type": "qris",
                    "order_id": "pur_9bX2kq0LmR4tVw7yZa1c",
                    "merchant_id": "G141532850",
                    "gross_amount": "75000.00",
                    "fraud_status": "accept",
                    "currency": "IDR",
                }
            ]
        },
    )

    order_id: Required
    status_code: Required
    gross_amount: Required
    signature_key: Required
    transaction_status: Required
