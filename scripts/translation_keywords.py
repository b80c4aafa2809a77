"""Prints the extraction keywords of every ServiceError and QrisError class ("-k …").

scripts/translations.sh passes them to pybabel: a service's refusal is extracted by the class
it is raised with, so `raise ValidationError("name must be …")` needs no marker of its own."""

from __future__ import annotations

import app  # noqa: F401  (loads every blueprint, and with them every service's errors)
from app.errors import ServiceError
from app.qris.errors import QrisError


def error_classes() -> list[str]:
    found, pending = set(), [ServiceError, QrisError]
    while pending:
        cls = pending.pop()
        found.add(cls.__name__)
        pending.extend(cls.__subclasses__())
    return sorted(found)


if __name__ == "__main__":
    print(" ".join(f"-k {name}" for name in error_classes()))
