"""Whose objects a merchant call may touch: one project environment."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from app.models import Environment


class Scope(Protocol):
    """An ApiClient (its credential's project environment) or a payments.read.PaymentScope."""

    @property
    def project_id(self) -> str: ...

    @property
    def environment(self) -> Environment: ...


@dataclass(frozen=True)
class ProjectEnvironment:
    """A Scope for a caller who is not an API client: the portal's project page."""

    project_id: str
    environment: Environment
