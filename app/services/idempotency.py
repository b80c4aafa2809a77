"""Idempotency-Key on the platform API's POSTs (SPEC §11, Stripe's convention).

A key belongs to one project environment and lives 24 h. The first request with it claims
the key (a unique row: of two racing first requests, one inserts and the other finds it in
use) and, when it ends, either keeps its answer on the row or lets the key go:

    absent ──claim──▶ in use ──answer worth keeping──▶ kept (replayed until expires_at)
                        │
                        └──5xx, 400, 401, 403, 429, or the request died──▶ absent

A kept answer is replayed to the same request (same fingerprint: a hash of method, path and
the raw body), and refused to a different one. A key still in use after LOCK_SECONDS belongs
to a request that died (none of ours runs that long), and the next request takes it over.

The effects themselves stay safe without this layer (a checkout is unique on its order id, a
refund on its refund_key); the key makes the *answer* repeatable, byte for byte."""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError

from app.errors import ServiceError, ValidationError
from app.extensions import db
from app.models import Environment, IdempotencyKey
from app.models.base import utcnow

HEADER = "Idempotency-Key"
KEY_PATTERN = re.compile(r"[\x20-\x7e]{1,255}")
RETENTION = timedelta(hours=24)
# Longer than any request of ours can hold a key: a checkout racing another waits 12 s, then
# makes a Midtrans call of at most 10 s.
LOCK_SECONDS = 60
# Answers the caller may retry with the same key: not kept.
NOT_KEPT = frozenset({400, 401, 403, 429})


class IdempotencyKeyReusedError(ServiceError):
    code = "idempotency_key_reused"
    http_status = 409

    def __init__(self, **params: object) -> None:
        super().__init__(
            "this Idempotency-Key was used with a different request; use a new key for a "
            "new request",
            field=HEADER,
            **params,
        )


class IdempotencyKeyInUseError(ServiceError):
    code = "idempotency_key_in_use"
    http_status = 409

    def __init__(self, **params: object) -> None:
        super().__init__(
            "a request with this Idempotency-Key is still running; retry when it has answered",
            field=HEADER,
            **params,
        )


@dataclass(frozen=True)
class KeptAnswer:
    status: int
    body: bytes
    content_type: str


@dataclass(frozen=True)
class Claim:
    """The key, held by this request from `locked_at`."""

    key_id: int
    locked_at: datetime


def check_key(value: str) -> str:
    if not KEY_PATTERN.fullmatch(value):
        raise ValidationError(
            "%(header)s must be 1-255 printable ASCII characters", field=HEADER, header=HEADER
        )
    return value


def fingerprint(method: str, path: str, body: bytes) -> str:
    digest = hashlib.sha256()
    for part in (method.encode(), path.encode(), body):
        digest.update(len(part).to_bytes(8, "big"))  # no two requests hash alike by shifting
        digest.update(part)
    return digest.hexdigest()


def is_kept(status: int) -> bool:
    return status < 500 and status not in NOT_KEPT


def claim(
    project_id: str, environment: Environment, key: str, request_fingerprint: str
) -> Claim | KeptAnswer:
    """The key for this request, or the answer kept for it. IdempotencyKeyReusedError for a
    different request, IdempotencyKeyInUseError while another request holds it."""
    for _ in range(5):
        now = utcnow()
        row = db.session.scalar(
            select(IdempotencyKey)
            .where(
                IdempotencyKey.project_id == project_id,
                IdempotencyKey.environment == environment,
                IdempotencyKey.key == key,
            )
            .execution_options(populate_existing=True)
        )
        if row is None:
            claimed = _insert(project_id, environment, key, request_fingerprint, now)
            if claimed is not None:
                return claimed
            continue  # a racing first request inserted it: look again
        if row.expires_at <= now:
            _forget(row.id, now)
            continue
        if not hmac.compare_digest(row.fingerprint, request_fingerprint):
            db.session.rollback()
            raise IdempotencyKeyReusedError()
        if row.response_status is not None:
            answer = KeptAnswer(
                row.response_status, row.response_body or b"", row.response_content_type or ""
            )
            db.session.rollback()
            return answer
        if row.locked_at > now - timedelta(seconds=LOCK_SECONDS):
            db.session.rollback()
            raise IdempotencyKeyInUseError()
        taken = _take_over(row, now)
        if taken is not None:
            return taken
    raise IdempotencyKeyInUseError()


def keep(held: Claim, status: int, body: bytes, content_type: str) -> None:
    """The answer of the request that held the key, kept for the key's remaining life."""
    db.session.execute(
        update(IdempotencyKey)
        .where(IdempotencyKey.id == held.key_id, IdempotencyKey.locked_at == held.locked_at)
        .values(response_status=status, response_body=body, response_content_type=content_type)
    )
    db.session.commit()


def release(held: Claim) -> None:
    """Let the key go: the caller may retry with it."""
    db.session.execute(
        delete(IdempotencyKey).where(
            IdempotencyKey.id == held.key_id,
            IdempotencyKey.locked_at == held.locked_at,
            IdempotencyKey.response_status.is_(None),
        )
    )
    db.session.commit()


def purge_expired(now: datetime | None = None) -> int:
    """Delete keys past their 24 h (the worker's upkeep). Returns how many."""
    result = db.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.expires_at <= (now or utcnow()))
    )
    db.session.commit()
    return result.rowcount


def _insert(
    project_id: str, environment: Environment, key: str, request_fingerprint: str, now: datetime
) -> Claim | None:
    row = IdempotencyKey(
        project_id=project_id,
        environment=environment,
        key=key,
        fingerprint=request_fingerprint,
        locked_at=now,
        created_at=now,
        expires_at=now + RETENTION,
    )
    db.session.add(row)
    try:
        db.session.flush()
        key_id = row.id
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        return None
    return Claim(key_id, now)


def _forget(key_id: int, now: datetime) -> None:
    db.session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.id == key_id, IdempotencyKey.expires_at <= now)
    )
    db.session.commit()


def _take_over(row: IdempotencyKey, now: datetime) -> Claim | None:
    """The key of a request that died, if no other request took it over first."""
    result = db.session.execute(
        update(IdempotencyKey)
        .where(
            IdempotencyKey.id == row.id,
            IdempotencyKey.locked_at == row.locked_at,
            IdempotencyKey.response_status.is_(None),
        )
        .values(locked_at=now)
    )
    key_id = row.id
    db.session.commit()
    return Claim(key_id, now) if result.rowcount == 1 else None
