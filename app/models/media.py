"""Files merchants upload: an item's image (public) and its delivery (only through a paid
buyer's signed link). The bytes live in MEDIA_DIR, shared by every web process; the row says
what they are, as checked from their content when they arrived."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, EnumText, UTCDateTime, utcnow


class MediaPurpose(StrEnum):
    IMAGE = "image"  # shown on the item's link page: public
    DELIVERY = "delivery"  # the buyer's download: never public


class MediaFile(Base):
    __tablename__ = "media_files"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    # Random, unguessable, and the file's name on disk: nothing the uploader chose.
    key: Mapped[str] = mapped_column(String(40), unique=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"), index=True)
    purpose: Mapped[MediaPurpose] = mapped_column(EnumText(MediaPurpose, 16))
    filename: Mapped[str] = mapped_column(String(255))  # as the buyer's download names it
    content_type: Mapped[str] = mapped_column(String(100))  # from the content, not the name
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
