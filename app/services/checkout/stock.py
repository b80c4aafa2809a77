"""The units an item checkout holds of its item's stock (SPEC §13).

Every change is one conditional UPDATE on the item's row in the caller's transaction, so it
commits or rolls back with the payment change it belongs to:

- `hold` when the checkout's row is inserted: `stock = stock - n WHERE stock >= n`; no row
  updated means sold out, however many buyers race (each UPDATE waits for the row lock of the
  one before it, then reads the committed stock).
- `release` when a holding checkout ends unpaid (expire, cancel, or its row is discarded
  because Snap never opened), or Midtrans reverses its settlement (settlement → cancel): the
  units come back. A refund gives none back: the goods may be with the buyer.
- `take_back` when such a checkout is paid after all (a late settlement): the units are taken
  again, even below zero; the item is then oversold and the portal says so."""

from __future__ import annotations

from sqlalchemy import update

from app.errors import ServiceError
from app.extensions import db
from app.models import Item, Payment, PaymentStatus


class SoldOutError(ServiceError):
    code = "sold_out"
    http_status = 409


class ItemInactiveError(ServiceError):
    code = "item_inactive"
    http_status = 409


# A checkout in one of these has given its units back.
ENDED_UNPAID = frozenset({PaymentStatus.EXPIRE, PaymentStatus.CANCEL})


def hold(item_ref: int, quantity: int) -> int:
    """Take `quantity` units for a new checkout; how many are now held (0 for unlimited
    stock). ItemInactiveError when the item is off sale, SoldOutError when too few are left."""
    taken = db.session.execute(
        update(Item)
        .where(
            Item.id == item_ref,
            Item.active.is_(True),
            Item.archived_at.is_(None),
            Item.stock.is_not(None),
            Item.stock >= quantity,
        )
        .values(stock=Item.stock - quantity)
        .execution_options(synchronize_session=False)
    ).rowcount
    if taken:
        return quantity
    item = db.session.get(Item, item_ref, populate_existing=True)
    if not item.on_sale:
        raise ItemInactiveError("this item is not on sale", "item_id")
    if item.stock is None:
        return 0
    left = max(item.stock, 0)
    if left == 0:
        raise SoldOutError("sold out", "quantity")
    raise SoldOutError("only %(left)s left: lower the quantity", "quantity", left=left)


def release(payment: Payment) -> None:
    """Give a payment's held units back (nothing if it holds none)."""
    if payment.item_ref is None or not payment.stock_held:
        return
    db.session.execute(
        update(Item)
        .where(Item.id == payment.item_ref, Item.stock.is_not(None))
        .values(stock=Item.stock + payment.stock_held)
        .execution_options(synchronize_session=False)
    )
    payment.stock_held = 0


def take_back(payment: Payment) -> None:
    """A payment that gave its units back is paid after all: it takes them again, even if
    that leaves the stock below zero."""
    if payment.item_ref is None or payment.stock_held:
        return
    changed = db.session.execute(
        update(Item)
        .where(Item.id == payment.item_ref, Item.stock.is_not(None))
        .values(stock=Item.stock - payment.quantity)
        .execution_options(synchronize_session=False)
    ).rowcount
    if changed:
        payment.stock_held = payment.quantity


def follow_status(payment: Payment, current: PaymentStatus, target: PaymentStatus) -> None:
    """Keep the held units in step with a status change of the payment (locked by the
    caller, who commits)."""
    if target in ENDED_UNPAID and current not in ENDED_UNPAID:
        release(payment)
    elif current in ENDED_UNPAID and target not in ENDED_UNPAID:
        take_back(payment)
