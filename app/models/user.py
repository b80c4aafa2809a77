from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, BigId, UTCDateTime, utcnow


class User(UserMixin, Base):
    """Merchant staff: logs in to the portal and owns projects."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Part of the session's user id: bumping it (password change) logs out every other session.
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")

    projects = relationship("Project", back_populates="owner", lazy="select")

    def get_id(self) -> str:
        return f"{self.id}:{self.session_version}"
