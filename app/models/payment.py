"""A checkout, every Midtrans event received for it, and every status change."""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, BigId, EnumText, JSONType, UTCDateTime, utcnow
from app.models.project import Environment


class PaymentStatus(StrEnum):
    # Internal only: the row exists while the Snap session is being created, so that two
    # racing first requests end in one payment. Never shown outside Lunas.
    CREATING = "creating"
    PENDING = "pending"
    SETTLEMENT = "settlement"
    CANCEL = "cancel"
    EXPIRE = "expire"
    REFUND = "refund"
    PARTIAL_REFUND = "partial_refund"


# Money was received: settled, possibly refunded since. A settlement Midtrans reversed
# (settlement → cancel) never became money.
PAID_STATUSES = (PaymentStatus.SETTLEMENT, PaymentStatus.REFUND, PaymentStatus.PARTIAL_REFUND)

_FROM_PENDING = frozenset(
    {
        PaymentStatus.SETTLEMENT,
        PaymentStatus.CANCEL,
        PaymentStatus.EXPIRE,
        PaymentStatus.REFUND,
        PaymentStatus.PARTIAL_REFUND,
    }
)

# Forward only: a status may move only along these edges (anything else is a stale event).
ALLOWED_TRANSITIONS: dict[PaymentStatus, frozenset[PaymentStatus]] = {
    # A notification can only meet a "creating" row in a crash window; it counts as pending.
    PaymentStatus.CREATING: _FROM_PENDING | {PaymentStatus.PENDING},
    PaymentStatus.PENDING: _FROM_PENDING,
    # settlement → cancel is Midtrans's reversal of some VA / convenience-store payments.
    PaymentStatus.SETTLEMENT: frozenset(
        {PaymentStatus.REFUND, PaymentStatus.PARTIAL_REFUND, PaymentStatus.CANCEL}
    ),
    PaymentStatus.PARTIAL_REFUND: frozenset({PaymentStatus.PARTIAL_REFUND, PaymentStatus.REFUND}),
    # Money Midtrans confirms after our own expiry is still money received.
    PaymentStatus.EXPIRE: frozenset({PaymentStatus.SETTLEMENT}),
    PaymentStatus.CANCEL: frozenset(),
    PaymentStatus.REFUND: frozenset(),
}


def can_transition(current: PaymentStatus, target: PaymentStatus) -> bool:
    return target in ALLOWED_TRANSITIONS[current]


# A merchant order id: what Midtrans accepts as an order_id (Lunas sends its purchase_id
# there, but holds merchant ids to the same rule, so either could be shown to Midtrans).
ORDER_ID_PATTERN = r"^[A-Za-z0-9\-_.~]{1,50}$"
# A buyer's phone as checkouts take it (both APIs and the item link page).
PHONE_PATTERN = r"[0-9 +\-]{8,20}"
# The largest amount in whole Rupiah a checkout takes.
MAX_AMOUNT = 999_999_999_999
# The item_id of a shop payment (the merchant keeps the catalog): in the Snap request's
# item_details and in item.purchased.
DIRECT_ITEM_ID = "__direct__"


class FulfilmentStatus(StrEnum):
    """What the merchant says of the order behind a payment (SPEC §11.5); final once set."""

    UNFULFILLED = "unfulfilled"
    COMPLETED = "completed"
    CANCELLED = "cancelled"


class EventOutcome(StrEnum):
    RECEIVED = "received"  # stored, not processed yet (or processing crashed)
    APPLIED = "applied"
    CONFIRMED = "confirmed"  # the first report of the status we already hold: nothing to change
    DUPLICATE = "duplicate"  # a repeat of a report already received
    STALE = "stale"
    REJECTED = "rejected"  # bad signature
    INVALID = "invalid"  # unparseable or missing fields
    UNKNOWN_ORDER = "unknown_order"
    UNKNOWN_STATUS = "unknown_status"
    AMOUNT_MISMATCH = "amount_mismatch"
    UNCONFIRMED = "unconfirmed"  # Get Status failed; Midtrans will retry
    NOT_FOUND_UPSTREAM = "not_found_upstream"
    UNAVAILABLE = "unavailable"  # no server key configured


# The paid-payments index's predicate (migration 0004), which the overview's queries imply.
_IS_PAID_SQL = "paid_at IS NOT NULL AND status IN ({})".format(
    ", ".join(f"'{status}'" for status in PAID_STATUSES)
)


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (
        UniqueConstraint("project_id", "environment", "order_id"),
        Index("ix_payments_status_expires_at", "status", "expires_at"),
        # The portal's list, search and overview (migration 0004, docs/PERFORMANCE.md).
        Index(
            "ix_payments_project_env_created",
            "project_id",
            "environment",
            "created_at",
            "id",
            postgresql_where=text("status <> 'creating'"),
            sqlite_where=text("status <> 'creating'"),
        ),
        Index(
            "ix_payments_project_env_status_created",
            "project_id",
            "environment",
            "status",
            "created_at",
            "id",
        ),
        Index(
            "ix_payments_project_env_email_created",
            "project_id",
            "environment",
            func.lower(text("buyer_email")),
            "created_at",
            "id",
        ),
        Index(
            "ix_payments_project_env_paid",
            "project_id",
            "environment",
            "paid_at",
            postgresql_include=["amount", "refunded", "midtrans_payment_type"],
            postgresql_where=text(_IS_PAID_SQL),
            sqlite_where=text(_IS_PAID_SQL),
        ),
        # The reconciler's due checks (app/services/checkout/reconcile.py, migration 0017).
        Index(
            "ix_payments_reconcile_due",
            "next_reconcile_at",
            postgresql_where=text("next_reconcile_at IS NOT NULL"),
            sqlite_where=text("next_reconcile_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    purchase_id: Mapped[str] = mapped_column(String(64), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    environment: Mapped[Environment] = mapped_column(EnumText(Environment, 16))
    order_id: Mapped[str] = mapped_column(String(50), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3), default="IDR")
    buyer_email: Mapped[str] = mapped_column(String(254))
    buyer_name: Mapped[str | None] = mapped_column(String(100))
    buyer_phone: Mapped[str | None] = mapped_column(String(20))
    item_name: Mapped[str | None] = mapped_column(String(200))
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSONType, default=dict)
    status: Mapped[PaymentStatus] = mapped_column(
        EnumText(PaymentStatus, 20), default=PaymentStatus.CREATING
    )

    # The checkout's own options (SPEC §11.1): Snap's payment methods (null: Snap's default),
    # where the buyer goes after paying, where this checkout's events go.
    enabled_payments: Mapped[list[str] | None] = mapped_column(JSONType)
    return_url: Mapped[str | None] = mapped_column(String(500))
    webhook_url: Mapped[str | None] = mapped_column(String(2000))

    snap_token: Mapped[str | None] = mapped_column(String(100))
    snap_redirect_url: Mapped[str | None] = mapped_column(String(500))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    paid_amount: Mapped[str | None] = mapped_column(String(32))
    # The pending janitor's next look at an overdue payment that Midtrans still calls pending.
    # When the reconciler (or, once overdue, the pending janitor) asks Midtrans about it next;
    # None: never again (a final status, or a settlement already checked once more).
    next_reconcile_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # As Midtrans last reported it (text, e.g. "25000.00")…
    refunded_amount: Mapped[str | None] = mapped_column(String(32))
    # …and in whole Rupiah, what the API and the statistics show: Midtrans's figure or the
    # sum of our succeeded refunds, whichever is larger.
    refunded: Mapped[int] = mapped_column(BigInteger, default=0, server_default="0")
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    fulfilment_status: Mapped[FulfilmentStatus] = mapped_column(
        EnumText(FulfilmentStatus, 16),
        default=FulfilmentStatus.UNFULFILLED,
        server_default=FulfilmentStatus.UNFULFILLED.value,
    )
    fulfilled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # An item checkout (SPEC §13): the item, how many units, and how many of them this
    # payment holds of the item's stock right now (0 once given back, or for unlimited stock).
    item_ref: Mapped[int | None] = mapped_column(BigId, ForeignKey("items.id"), index=True)
    quantity: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
    stock_held: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    midtrans_transaction_id: Mapped[str | None] = mapped_column(String(64), index=True)
    midtrans_transaction_status: Mapped[str | None] = mapped_column(String(32))
    midtrans_fraud_status: Mapped[str | None] = mapped_column(String(32))
    midtrans_payment_type: Mapped[str | None] = mapped_column(String(32))
    # The bank, wallet or store Midtrans names (app/midtrans/payment_types.payment_channel).
    payment_channel: Mapped[str | None] = mapped_column(String(32))

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    project = relationship("Project")
    item = relationship("Item")

    @property
    def public_item_id(self) -> str:
        """The item's id, or DIRECT_ITEM_ID for a shop payment."""
        return self.item.item_id if self.item is not None else DIRECT_ITEM_ID


class PaymentEvent(Base):
    """One untrusted request from Midtrans (or a janitor check), stored before it is believed."""

    __tablename__ = "payment_events"
    __table_args__ = (
        # Events on no payment's timeline (unverified): the operator's list and their purge.
        Index(
            "ix_payment_events_unverified_received",
            "received_at",
            "id",
            postgresql_where=text("payment_id IS NULL"),
            sqlite_where=text("payment_id IS NULL"),
        ),
        # The reconciler's corrections of a day, for its report in the portal.
        Index(
            "ix_payment_events_reconcile_received",
            "received_at",
            postgresql_where=text("source = 'reconcile'"),
            sqlite_where=text("source = 'reconcile'"),
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Set only once the signature verified: until then it is nobody's event, whatever it claims.
    payment_id: Mapped[int | None] = mapped_column(ForeignKey("payments.id"), index=True)
    # The order_id the body named (a purchase id, or a Midtrans transaction id), as sent.
    claimed_order_id: Mapped[str | None] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(20))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    raw_body: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, str]] = mapped_column(JSONType, default=dict)
    remote_addr: Mapped[str | None] = mapped_column(String(64))
    transaction_status: Mapped[str | None] = mapped_column(String(32))
    outcome: Mapped[EventOutcome] = mapped_column(
        EnumText(EventOutcome, 24), default=EventOutcome.RECEIVED
    )
    detail: Mapped[str | None] = mapped_column(String(500))
    http_status: Mapped[int | None] = mapped_column(Integer)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @classmethod
    def of_answer(
        cls, payment_id: int, source: str, answer: dict[str, Any], status: str | None = None
    ) -> PaymentEvent:
        """An event on the payment's timeline made of an answer Lunas itself asked Midtrans
        for (a cancel, a refund, a reconciler's Get Status): trusted, so joined at once;
        `status` stands in when the answer names no transaction_status."""
        return cls(
            payment_id=payment_id,
            source=source,
            raw_body=json.dumps(answer)[:20_000],
            headers={},
            received_at=utcnow(),
            transaction_status=str(answer.get("transaction_status") or status)[:32],
        )


class PaymentStatusChange(Base):
    __tablename__ = "payment_status_changes"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("payment_events.id"))
    from_status: Mapped[PaymentStatus] = mapped_column(EnumText(PaymentStatus, 20))
    to_status: Mapped[PaymentStatus] = mapped_column(EnumText(PaymentStatus, 20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
