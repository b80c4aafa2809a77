"""What operators do: invitations to sign up, and the record of every operator action."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.models.base import Base, BigId, UTCDateTime, utcnow


class Invitation(Base):
    """A single-use, expiring sign-up link (REGISTRATION=invite). The link carries a random
    token; only its SHA-256 is kept, so a copy of this table invites nobody."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # When set, only this address may sign up with the link.
    email: Mapped[str | None] = mapped_column(String(254))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the CLI
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    used_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    created_by = relationship("User", foreign_keys=[created_by_id], lazy="joined")
    used_by = relationship("User", foreign_keys=[used_by_id], lazy="joined")


class OperatorAction(Base):
    """One thing an operator did (who, when, what, to which object), kept for good and shown
    in the console. Written in the transaction of the action itself."""

    __tablename__ = "operator_actions"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))  # None: the CLI
    # Who it was, as shown: the operator's email then, or "command line".
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40))  # "project.approve", "invitation.create", …
    subject: Mapped[str] = mapped_column(String(200))  # the object: a project id, an email, …
    detail: Mapped[str | None] = mapped_column(String(500))
