"""The record of what operators did: written in the transaction of the action, never edited."""

from __future__ import annotations

from sqlalchemy import select

from app.extensions import db
from app.models import OperatorAction, User

COMMAND_LINE = "command line"
SHOWN = 200


def record(actor: User | None, action: str, subject: str, detail: str | None = None) -> None:
    """Add one action to the session (the caller's commit writes it with the action itself).
    `actor` None: the `flask` CLI, run by whoever has the server."""
    db.session.add(
        OperatorAction(
            actor_id=actor.id if actor else None,
            actor=actor.email if actor else COMMAND_LINE,
            action=action,
            subject=subject[:200],
            detail=detail[:500] if detail else None,
        )
    )


def recent_actions(limit: int = SHOWN) -> list[OperatorAction]:
    """Newest first."""
    return list(
        db.session.scalars(
            select(OperatorAction)
            .order_by(OperatorAction.created_at.desc(), OperatorAction.id.desc())
            .limit(limit)
        )
    )
