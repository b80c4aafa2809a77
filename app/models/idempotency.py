"""An Idempotency-Key a merchant sent with a POST, and the answer it is kept with."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, BigId, EnumText, UTCDateTime, utcnow
from app.models.project import Environment


class IdempotencyKey(Base):
    """One key of one project environment. While its first request runs, `response_status`
    is null (the key is in use); once that request answered with something worth keeping,
    the status and body bytes are here until `expires_at`. Only a hash of the request is
    kept (`fingerprint`), never the request: bodies may hold the client secret."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("project_id", "environment", "key"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    project_id: Mapped[str] = mapped_column(ForeignKey("projects.id"))
    environment: Mapped[Environment] = mapped_column(EnumText(Environment, 16))
    key: Mapped[str] = mapped_column(String(255))
    fingerprint: Mapped[str] = mapped_column(String(64))
    # When the request holding the key started (or took it over from one that died).
    locked_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[bytes | None] = mapped_column(LargeBinary)
    response_content_type: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
