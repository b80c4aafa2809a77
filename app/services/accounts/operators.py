"""Operators: the people who run the platform and see /admin (only the CLI makes one), and
what they do to merchants' projects: approve production, suspend, resume. Every action is
recorded (audit.py) in its own transaction."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from app.errors import NotFoundError, ValidationError
from app.extensions import db
from app.models import Project, User
from app.models.base import utcnow
from app.services.accounts import audit
from app.services.accounts.users import find_user_by_email
from app.text import has_nul

MAX_REASON_LENGTH = 500


def promote(email: str, actor: User | None = None) -> User:
    """Make an existing user an operator (again: promoting an operator changes nothing).
    NotFoundError when no user has that email."""
    user = find_user_by_email(email)
    if user is None:
        raise NotFoundError(
            "no user with email %(email)s", field="email", email=repr(email.strip())
        )
    if not user.is_operator:
        user.is_operator = True
        audit.record(actor, "user.promote", user.email)
    db.session.commit()
    return user


@dataclass(frozen=True)
class Merchant:
    user: User
    projects: list[Project]


def merchants() -> list[Merchant]:
    """Every user with their projects (archived ones too), newest sign-up first. Across all
    tenants on purpose: this is the operator's view."""
    users = db.session.scalars(
        select(User).options(selectinload(User.projects)).order_by(User.created_at.desc())
    )
    return [
        Merchant(user, sorted(user.projects, key=lambda project: project.created_at))
        for user in users
    ]


def waiting_for_approval() -> list[Project]:
    """Projects whose production waits for an operator, oldest first."""
    return list(
        db.session.scalars(
            select(Project)
            .where(Project.production_approved_at.is_(None), Project.archived_at.is_(None))
            .order_by(Project.created_at)
        )
    )


def find_project(project_id: str, lock: bool = False) -> Project:
    query = select(Project).where(Project.id == project_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    project = None if has_nul(project_id) else db.session.scalar(query)
    if project is None:
        raise NotFoundError("no project %(project_id)s", project_id=repr(project_id))
    return project


def approve_production(project_id: str, actor: User | None) -> Project:
    """Production may take money from now on (its owner can create the production secret once
    their email is verified). Approving an approved project changes nothing."""
    project = find_project(project_id, lock=True)
    if project.production_approved_at is None:
        project.production_approved_at = utcnow()
        audit.record(actor, "project.approve", project.id, f"{project.name} (production)")
    db.session.commit()
    return project


def suspend(project_id: str, actor: User | None, reason: str | None = None) -> Project:
    """No new checkout starts, in either environment; money already moving goes on."""
    reason = (reason or "").strip() or None
    if reason and (len(reason) > MAX_REASON_LENGTH or has_nul(reason)):
        raise ValidationError(
            "reason must be at most %(maximum)s characters",
            field="reason",
            maximum=MAX_REASON_LENGTH,
        )
    project = find_project(project_id, lock=True)
    if project.suspended_at is None:
        project.suspended_at = utcnow()
        project.suspended_reason = reason
        audit.record(actor, "project.suspend", project.id, _named(project, reason))
    db.session.commit()
    return project


def resume(project_id: str, actor: User | None) -> Project:
    project = find_project(project_id, lock=True)
    if project.suspended_at is not None:
        project.suspended_at = None
        project.suspended_reason = None
        audit.record(actor, "project.resume", project.id, project.name)
    db.session.commit()
    return project


def _named(project: Project, reason: str | None) -> str:
    return f"{project.name}: {reason}" if reason else project.name
