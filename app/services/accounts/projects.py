"""Projects: creation with credentials and webhook endpoints for both environments, renaming,
and the store URL template the buyer page returns to."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from app.errors import ServiceError, ValidationError
from app.extensions import db
from app.models import Environment, Project, User
from app.models.base import utcnow
from app.security import random_token
from app.services.accounts.credentials import may_hold_secret, new_api_client
from app.services.outbox.endpoints import add_endpoint, validate_webhook_url
from app.services.urls import require_scheme

SLUG_PLACEHOLDER = "{store_slug}"
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class EnvironmentKeys:
    client_id: str
    client_secret: str | None  # None: production, until the owner is verified and approved
    webhook_url: str | None
    webhook_secret: str


@dataclass(frozen=True)
class CreatedProject:
    project: Project
    keys: dict[Environment, EnvironmentKeys]


def create_project(
    owner: User,
    name: str,
    store_url_template: str | None = None,
    webhook_url: str | None = None,
    approved: bool = False,
    creation_token: str | None = None,
) -> CreatedProject:
    """A project with both environments' keys and endpoints. `approved`: production is allowed
    at once (an operator's CLI); otherwise it waits for an operator's approval and its
    production client has no secret until then. `creation_token`: the one-time token of the
    form that asked for it; the same token again raises ProjectAlreadyCreatedError."""
    name = validate_project_name(name)
    template = validate_store_url_template(store_url_template)
    url = validate_webhook_url(webhook_url)
    if creation_token is not None:
        _refuse_repeat(owner, creation_token)
    project = Project(
        id="prj_" + random_token(20),
        owner=owner,
        name=name,
        store_url_template=template,
        production_approved_at=utcnow() if approved else None,
        creation_token=creation_token,
    )
    db.session.add(project)
    try:
        db.session.flush()
    except IntegrityError:
        # The same form twice at once: the unique (owner, creation_token) decides.
        db.session.rollback()
        _refuse_repeat(owner, creation_token)
        raise
    keys = {}
    for environment in Environment:
        # No production secret until the owner's address is proven and an operator approved.
        client, client_secret = new_api_client(
            project.id, environment, with_secret=may_hold_secret(project, environment)
        )
        webhook_secret = add_endpoint(project.id, environment, url)
        keys[environment] = EnvironmentKeys(client.client_id, client_secret, url, webhook_secret)
    db.session.commit()
    return CreatedProject(project, keys)


class ProjectAlreadyCreatedError(ServiceError):
    """The form that creates a project was sent again (a reload): the project it made."""

    def __init__(self, project: Project, **params: object) -> None:
        super().__init__("this project was already created", **params)
        self.project = project


def _refuse_repeat(owner: User, creation_token: str | None) -> None:
    made = db.session.scalar(
        select(Project).where(
            Project.owner_id == owner.id, Project.creation_token == creation_token
        )
    )
    if made is not None:
        raise ProjectAlreadyCreatedError(made)


def projects_of(owner: User, archived: bool = False) -> list[Project]:
    """The owner's projects, oldest first: the current ones, or (`archived`) the archived."""
    kept = Project.archived_at.is_not(None) if archived else Project.archived_at.is_(None)
    return list(
        db.session.scalars(
            select(Project)
            .where(Project.owner_id == owner.id, kept)
            .order_by(Project.created_at, Project.id)
        )
    )


def archive_project(project: Project) -> None:
    """Out of the list, and no new checkout; payments already made go on. Restorable."""
    if project.archived_at is None:
        project.archived_at = utcnow()
        db.session.commit()


def restore_project(project: Project) -> None:
    if project.archived_at is not None:
        project.archived_at = None
        db.session.commit()


def project_of_owner(owner: User, project_id: str) -> Project | None:
    """The project only if this user owns it: None for someone else's, as for a missing one."""
    return db.session.scalar(
        select(Project).where(Project.id == project_id, Project.owner_id == owner.id)
    )


def update_project(project: Project, name: str, store_url_template: str | None) -> Project:
    """Rename and set the store URL template; both are validated before anything changes."""
    name = validate_project_name(name)
    template = validate_store_url_template(store_url_template)
    project.name = name
    project.store_url_template = template
    db.session.commit()
    return project


def validate_project_name(name: str | None) -> str:
    name = (name or "").strip()
    if not name or len(name) > MAX_NAME_LENGTH:
        raise ValidationError(
            "name must be 1-%(maximum)s characters", field="name", maximum=MAX_NAME_LENGTH
        )
    return name


def validate_store_url_template(template: str | None) -> str | None:
    """An https URL (http outside production) with {store_slug} exactly once, never in a way
    that lets a slug choose the host."""
    if template is None or template.strip() == "":
        return None
    template = template.strip()
    field = "store_url_template"
    if len(template) > 500:
        raise ValidationError("store URL template must be at most 500 characters", field=field)
    if template.count(SLUG_PLACEHOLDER) != 1:
        raise ValidationError("store URL template must contain {store_slug} exactly once", field)
    if template.replace(SLUG_PLACEHOLDER, "").count("{") or "}" in template.replace(
        SLUG_PLACEHOLDER, ""
    ):
        raise ValidationError("store URL template may contain no other {placeholders}", field)
    if any(ch.isspace() or ord(ch) < 32 for ch in template):
        raise ValidationError("store URL template must not contain spaces", field)
    parts = urlsplit(template.replace(SLUG_PLACEHOLDER, "slug"))
    require_scheme(parts, field, https_only=current_app.config["LUNAS_ENV"] == "production")
    if not parts.hostname or "@" in parts.netloc:
        raise ValidationError("store URL template needs a host and no user name", field)
    netloc = urlsplit(template).netloc
    if SLUG_PLACEHOLDER in netloc:
        # Only as the first label of a host that has its own registered domain after it.
        rest = netloc.removeprefix(SLUG_PLACEHOLDER + ".")
        if rest == netloc or SLUG_PLACEHOLDER in rest or "." not in rest.split(":")[0]:
            raise ValidationError(
                "{store_slug} may only stand in the path, the query, or as the first label "
                "of the host (https://{store_slug}.example.com)",
                field,
            )
    return template
