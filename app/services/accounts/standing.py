"""Whether a project may start taking money: production needs an operator's approval, an
operator may suspend a project, and its owner may archive it.

None of these ever stops money that is already moving: a suspended or archived project's
payments still settle, its notifications are still applied and its webhooks still go out.
What they stop is a *new* checkout (and, before approval, a production secret)."""

from __future__ import annotations

from app.errors import ServiceError
from app.models import Environment, Project


class ProjectSuspendedError(ServiceError):
    code = "project_suspended"
    http_status = 403

    def __init__(self, **params: object) -> None:
        super().__init__(
            "this project is suspended by the platform operator: no new checkout can start "
            "(payments already made still settle and their webhooks still go out)",
            **params,
        )


class ProjectArchivedError(ServiceError):
    code = "project_archived"
    http_status = 403

    def __init__(self, **params: object) -> None:
        super().__init__(
            "this project is archived: restore it in the portal to take payments", **params
        )


class ProductionNotApprovedError(ServiceError):
    code = "production_not_approved"
    http_status = 403

    def __init__(self, **params: object) -> None:
        super().__init__(
            "production is not approved for this project yet: the platform operator approves "
            "it; sandbox works meanwhile",
            **params,
        )


def production_approved(project: Project) -> bool:
    return project.production_approved_at is not None


def check_may_start_checkout(project: Project, environment: Environment) -> None:
    """Raise the reason a new checkout may not start for this project environment."""
    if project.suspended_at is not None:
        raise ProjectSuspendedError()
    if project.archived_at is not None:
        raise ProjectArchivedError()
    if environment is Environment.PRODUCTION and not production_approved(project):
        raise ProductionNotApprovedError()
