"""Handing a message to the worker through RQ, with retries: an SMTP server that is down for
a while delays a message, it does not lose it.

Jobs are enqueued by dotted path (as the webhook outbox does), so nothing here imports the RQ
entry points."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError
from rq import Retry

from app.extensions import queue

log = logging.getLogger(__name__)

ACCOUNT_MAIL_JOB = "app.jobs.send_account_mail"
# Seconds between tries after the first: about a day and a half in all.
RETRY_INTERVALS = [30, 120, 600, 1800, 3600, 3 * 3600, 6 * 3600, 12 * 3600, 12 * 3600]


def enqueue_account_mail(kind: str, user_id: int) -> bool:
    """True when RQ has the job; False when Redis cannot take it (the caller then sends now,
    rather than lose a message the user is waiting for). The job carries only the kind and
    the user id: the signed link is made when the mail is sent, so no token sits in Redis."""
    try:
        queue().enqueue(
            ACCOUNT_MAIL_JOB,
            kind,
            user_id,
            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
        )
    except RedisError as exc:
        log.warning("could not queue %s mail: %s (sending it now)", kind, exc)
        return False
    return True
