"""What a paid item checkout hands over (SPEC §13): the item's delivery, a file or hidden
text, behind one signed link per payment.

- `follow_status`, called by `apply_status` in the transaction of the status change: the
  settlement of an item with a delivery issues the link (its URL goes into `item.purchased`);
  a refund, partial or full, or a reversal (settlement → cancel) revokes it.
- The link is `/d/<token>`, the token an itsdangerous signature of the link row's id, so
  nothing secret is stored and the same link can be shown again. It works for LINK_DAYS days
  and LINK_DOWNLOADS downloads, counted by one conditional UPDATE, so racing downloads cannot
  pass the count.
- Before settlement there is no link, and nothing else serves a delivery: an unpaid buyer has
  no URL that reaches the file or the text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer
from sqlalchemy import select, update

from app.errors import InvalidStateError, NotFoundError, ServiceError
from app.extensions import db
from app.models import DeliveryLink, DeliveryType, MediaFile, Payment, PaymentStatus
from app.models.base import utcnow
from app.security import decrypt

LINK_DAYS = 7
LINK_DOWNLOADS = 10
_SALT = "lunas.delivery-link"
# The statuses that take a delivery back: the money went back or never stayed.
_REVOKING = frozenset({PaymentStatus.REFUND, PaymentStatus.PARTIAL_REFUND})


class DeliveryGoneError(ServiceError):
    """A real link that no longer opens: expired, used up, or revoked."""

    code = "delivery_gone"
    http_status = 410

    def __init__(self, reason: str, **params: object) -> None:
        super().__init__("this delivery link is %(reason)s", reason=reason, **params)
        self.reason = reason  # expired, used_up, revoked


@dataclass(frozen=True)
class Download:
    """What one counted opening of a link gives: a file to stream, or the text."""

    type: DeliveryType
    store_name: str
    item_name: str
    file: MediaFile | None = None
    content: str | None = None


@dataclass(frozen=True)
class BuyerDelivery:
    """The callback page's view of a settled payment's delivery."""

    type: DeliveryType
    url: str | None  # None when the link no longer opens
    content: str | None  # the hidden text, while the link is good
    filename: str | None
    size: int | None
    expires_at: datetime | None
    downloads_left: int
    gone: str | None  # expired, used_up, revoked; None while good


def follow_status(payment: Payment, previous: PaymentStatus, target: PaymentStatus) -> dict | None:
    """Keep the delivery link in step with the payment; the `delivery` field of
    `item.purchased` when this change issued one."""
    if target in _REVOKING or (
        target == PaymentStatus.CANCEL and previous == PaymentStatus.SETTLEMENT
    ):
        revoke(payment)
        return None
    if target != PaymentStatus.SETTLEMENT or payment.item is None:
        return None
    if payment.item.delivery_type is None:
        return None
    link = issue(payment)
    return {"type": str(payment.item.delivery_type), "url": link_url(link)}


def issue(payment: Payment) -> DeliveryLink:
    """A new link for a payment (any earlier one revoked), in the caller's transaction."""
    revoke(payment)
    now = utcnow()
    link = DeliveryLink(
        payment_id=payment.id, created_at=now, expires_at=now + timedelta(days=LINK_DAYS)
    )
    db.session.add(link)
    db.session.flush()
    return link


def reissue(payment: Payment) -> DeliveryLink:
    """The merchant's "new download link" for a buyer whose link expired or was used up:
    only for a settled payment of an item that has a delivery. Commits."""
    if payment.status != PaymentStatus.SETTLEMENT:
        raise InvalidStateError(
            "a delivery link is only issued for a settled payment (this one is %(status)s)",
            status=str(payment.status),
        )
    if payment.item is None or payment.item.delivery_type is None:
        raise InvalidStateError("this payment's item has no delivery")
    link = issue(payment)
    db.session.commit()
    return link


def revoke(payment: Payment) -> None:
    db.session.execute(
        update(DeliveryLink)
        .where(DeliveryLink.payment_id == payment.id, DeliveryLink.revoked_at.is_(None))
        .values(revoked_at=utcnow())
        .execution_options(synchronize_session=False)
    )


def link_url(link: DeliveryLink) -> str:
    return f"{current_app.config['PUBLIC_BASE_URL']}/d/{_serializer().dumps(link.id)}"


def open_link(token: str, count: bool = True) -> Download:
    """Count one download of the link `token` names and say what it gives; NotFoundError for
    a token we never made, DeliveryGoneError for one that no longer opens. `count=False` (a
    HEAD request) checks without counting. Commits the count."""
    link = _link_of(token)
    if count:
        counted = db.session.execute(
            update(DeliveryLink)
            .where(
                DeliveryLink.id == link.id,
                DeliveryLink.revoked_at.is_(None),
                DeliveryLink.expires_at > utcnow(),
                DeliveryLink.downloads < LINK_DOWNLOADS,
            )
            .values(downloads=DeliveryLink.downloads + 1)
            .execution_options(synchronize_session=False)
        ).rowcount
    else:
        counted = _why_gone(link, link.payment) is None
    payment = link.payment
    item = payment.item
    if not counted or payment.status != PaymentStatus.SETTLEMENT or item is None:
        db.session.refresh(link)  # a racing download may have taken the last one
        gone = _why_gone(link, payment) or "used_up"
        raise DeliveryGoneError(gone)
    if item.delivery_type is None or (
        item.delivery_type == DeliveryType.FILE and item.delivery_file is None
    ):
        gone = "revoked"  # the merchant took the delivery off the item
        raise DeliveryGoneError(gone)
    found = Download(
        type=item.delivery_type,
        store_name=payment.project.name,
        item_name=item.name,
        file=item.delivery_file if item.delivery_type == DeliveryType.FILE else None,
        content=decrypt(item.delivery_content)
        if item.delivery_type == DeliveryType.CONTENT
        else None,
    )
    db.session.commit()
    return found


def buyer_delivery(purchase_id: str) -> BuyerDelivery | None:
    """The delivery the callback page shows for a settled payment, or None (no item, no
    delivery, not settled)."""
    payment = db.session.scalar(select(Payment).where(Payment.purchase_id == purchase_id))
    if payment is None or payment.status != PaymentStatus.SETTLEMENT or payment.item is None:
        return None
    item = payment.item
    if item.delivery_type is None:
        return None
    link = latest_link(payment.id)
    gone = "revoked" if link is None else _why_gone(link, payment)
    good = gone is None
    file = item.delivery_file if item.delivery_type == DeliveryType.FILE else None
    return BuyerDelivery(
        type=item.delivery_type,
        url=link_url(link) if good else None,
        content=decrypt(item.delivery_content)
        if good and item.delivery_type == DeliveryType.CONTENT
        else None,
        filename=file.filename if file else None,
        size=file.size if file else None,
        expires_at=link.expires_at if link else None,
        downloads_left=max(LINK_DOWNLOADS - link.downloads, 0) if link else 0,
        gone=gone,
    )


def latest_link(payment_id: int) -> DeliveryLink | None:
    """The payment's newest link (the one the buyer's page shows), or None."""
    return db.session.scalar(
        select(DeliveryLink)
        .where(DeliveryLink.payment_id == payment_id)
        .order_by(DeliveryLink.id.desc())
        .limit(1)
    )


def delivery_due(purchase_id: str) -> bool:
    """Whether paying this checkout will hand something over (its item has a delivery)."""
    payment = db.session.scalar(select(Payment).where(Payment.purchase_id == purchase_id))
    return bool(payment and payment.item and payment.item.delivery_type is not None)


def _why_gone(link: DeliveryLink, payment: Payment) -> str | None:
    if link.revoked_at is not None or payment.status != PaymentStatus.SETTLEMENT:
        return "revoked"
    if link.expires_at <= utcnow():
        return "expired"
    if link.downloads >= LINK_DOWNLOADS:
        return "used_up"
    return None


def _link_of(token: str) -> DeliveryLink:
    try:
        link_id = _serializer().loads(token)
    except BadSignature:
        raise NotFoundError("no such delivery link") from None
    link = db.session.get(DeliveryLink, link_id) if isinstance(link_id, int) else None
    if link is None:
        raise NotFoundError("no such delivery link")
    return link


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=_SALT)
