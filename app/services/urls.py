"""The URL rules every service shares for the URLs merchants give us."""

from __future__ import annotations

from urllib.parse import SplitResult

from app.errors import ValidationError


def require_scheme(parts: SplitResult, field: str, https_only: bool) -> None:
    if https_only and parts.scheme != "https":
        raise ValidationError("%(name)s must be an https URL", field=field, name=field)
    if parts.scheme not in ("https", "http"):
        raise ValidationError("%(name)s must be an https or http URL", field=field, name=field)
