"""Projects: creation with credentials and webhook endpoints for both environments, renaming,
and the store URL template the buyer page returns to."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from flask import current_app
from sqlalchemy import select

from app.errors import ValidationError
from app.extensions import db
from app.models import Environment, Project, User
from app.security import random_token
from app.services.accounts.credentials import may_hold_secret, new_api_client
from app.services.outbox.endpoints import add_endpoint, validate_webhook_url
from app.services.urls import require_scheme

SLUG_PLACEHOLDER = "{store_slug}"
MAX_NAME_LENGTH = 100


@dataclass(frozen=True)
class EnvironmentKeys:
    client_id: str
    client_secret: str | None  # None: production for an owner whose email is unverified
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
) -> CreatedProject:
    name = validate_project_name(name)
    template = validate_store_url_template(store_url_template)
    url = validate_webhook_url(webhook_url)
    project = Project(
        id="prj_" + random_token(20), owner=owner, name=name, store_url_template=template
    )
    db.session.add(project)
    db.session.flush()
    keys = {}
    for environment in Environment:
        # An unverified owner's production client has no secret until the address is proven.
        client, client_secret = new_api_client(
            project.id, environment, with_secret=may_hold_secret(owner, environment)
        )
        webhook_secret = add_endpoint(project.id, environment, url)
        keys[environment] = EnvironmentKeys(client.client_id, client_secret, url, webhook_secret)
    db.session.commit()
    return CreatedProject(project, keys)


def projects_of(owner: User) -> list[Project]:
    return list(
        db.session.scalars(
            select(Project).where(Project.owner_id == owner.id).order_by(Project.created_at)
        )
    )


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
        raise ValidationError(f"name must be 1-{MAX_NAME_LENGTH} characters", field="name")
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
