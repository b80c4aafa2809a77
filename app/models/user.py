from __future__ import annotations

from datetime import datetime

from flask_login import UserMixin
from sqlalchemy import Boolean, ForeignKey, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, BigId, UTCDateTime, utcnow


class User(UserMixin, Base):
    """Merchant staff: logs in to the portal and owns projects."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when the owner opened the link mailed to this address; until then no production keys.
    email_verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Runs the platform: sees the operator pages. Only the CLI makes one.
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())

    projects = relationship("Project", back_populates="owner", lazy="select")

    # The portal session this request was loaded through (set by the session loader, and at
    # login): Flask-Login keeps get_id() in the cookie, so that is the session's token.
    session_token = None

    def get_id(self) -> str | None:
        return self.session_token

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class UserSession(Base):
    """One logged-in browser. The cookie carries a random token; only its SHA-256 is kept, so
    a copy of this table opens no session. Ended by logout, a password change or reset, "log
    out everywhere", the idle timeout and the absolute lifetime."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The password was last typed in this session at: revealing or rotating a secret needs it
    # to be recent.
    password_confirmed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_reason: Mapped[str | None] = mapped_column(String(40))
    user_agent: Mapped[str | None] = mapped_column(String(200))
    remote_addr: Mapped[str | None] = mapped_column(String(64))

    user = relationship("User", lazy="joined")
