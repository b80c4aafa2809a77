"""The URL rules every service shares for the URLs merchants give us."""

from __future__ import annotations

from urllib.parse import SplitResult

from app.errors import ValidationError


def require_scheme(parts: SplitResult, field: str, https_only: bool) -> None:
    allowed = ("https",) if https_only else ("https", "http")
    if parts.scheme not in allowed:
        raise ValidationError(f"{field} must be an {' or '.join(allowed)} URL", field=field)
