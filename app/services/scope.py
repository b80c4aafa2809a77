"""Whose objects a merchant call may touch: one project environment."""

from __future__ import annotations

from typing import Protocol

from app.models import Environment


class Scope(Protocol):
    """An ApiClient (its credential's project environment) or a payments.read.PaymentScope."""

    @property
    def project_id(self) -> str: ...

    @property
    def environment(self) -> Environment: ...
