"""Items: the catalog Lunas keeps for a project environment (SPEC §13), sold through the API's
item checkout and the hosted link /i/<slug>."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, BigId, EnumText, UTCDateTime, utcnow
from app.models.project import Environment

ITEM_ID_PREFIX = "itm_"
SLUG_PATTERN = r"^[a-z0-9-]{3,64}$"


class PriceMode(StrEnum):
    FIXED = "fixed"  # `price` per unit
    FLEXIBLE = "flexible"  # the buyer chooses, between min_amount and max_amount


class DeliveryType(StrEnum):
    FILE = "file"  # a MediaFile, downloaded through the buyer's link
    CONTENT = "content"  # hidden text (a licence key, a private link), Fernet-encrypted at rest


class Item(Base):
    """One thing a merchant sells. `stock` is what new checkouts may still take: a pending
    checkout holds its units (Payment.stock_held), and gives them back when it ends unpaid.
    A late settlement of such a checkout takes them back even below zero (oversold)."""

    __tablename__ = "items"
    __table_args__ = (
        # The API's and the portal's list: newest first, by project environment.
        Index("ix_items_project_env_created", "project_id", "environment", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    item_id: Mapped[str] = mapped_column(String(40), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    environment: Mapped[Environment] = mapped_column(EnumText(Environment, 16))
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    price_mode: Mapped[PriceMode] = mapped_column(EnumText(PriceMode, 16))
    price: Mapped[int | None] = mapped_column(BigInteger)
    min_amount: Mapped[int | None] = mapped_column(BigInteger)
    max_amount: Mapped[int | None] = mapped_column(BigInteger)
    allow_price_override: Mapped[bool] = mapped_column(Boolean, default=False)
    slug: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    archived_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    stock: Mapped[int | None] = mapped_column(Integer)  # None: unlimited
    image_ref: Mapped[int | None] = mapped_column(BigId, ForeignKey("media_files.id"))
    delivery_type: Mapped[DeliveryType | None] = mapped_column(EnumText(DeliveryType, 16))
    delivery_content: Mapped[str | None] = mapped_column(Text)  # encrypted (app.security)
    delivery_file_ref: Mapped[int | None] = mapped_column(BigId, ForeignKey("media_files.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    project = relationship("Project")
    image = relationship("MediaFile", foreign_keys=[image_ref])
    delivery_file = relationship("MediaFile", foreign_keys=[delivery_file_ref])

    @property
    def archived(self) -> bool:
        return self.archived_at is not None

    @property
    def on_sale(self) -> bool:
        return self.active and self.archived_at is None

    @property
    def oversold(self) -> bool:
        return self.stock is not None and self.stock < 0


class DeliveryLink(Base):
    """What a paid item checkout unlocks: one signed link (`/d/<token>`, the token signs this
    row's id), valid DELIVERY_LINK_DAYS and DELIVERY_LINK_DOWNLOADS downloads. A refund or
    reversal revokes it; the merchant may issue a new one (revoking the old)."""

    __tablename__ = "delivery_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    payment_id: Mapped[int] = mapped_column(ForeignKey("payments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    downloads: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    payment = relationship("Payment")
