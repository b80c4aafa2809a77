"""Logs (SPEC §15): one JSON object per line in production (LOG_FORMAT=json), plain lines
elsewhere; every line of a request carries its `request_id` (taken from the caller's
`X-Request-ID` when it is a sane token, else made here, and sent back in the same header), and
the project and purchase it concerns once they are known (`bind`).

Never a secret, card data or a full email address in a line: whatever the code logs passes
through `redact` on its way out, in both formats, so a careless log call cannot leak one. The
code does not rely on it (nothing logs a secret on purpose); it is the net under the rope."""

from __future__ import annotations

import contextvars
import json
import logging
import re
import uuid
from datetime import UTC, datetime

from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{1,128}")
_CONTEXT_FIELDS = ("request_id", "project_id", "purchase_id", "delivery_id")
_context: dict[str, contextvars.ContextVar[str | None]] = {
    name: contextvars.ContextVar(f"lunas_log_{name}", default=None) for name in _CONTEXT_FIELDS
}

# What must never be written, each with what is written instead.
_EMAIL = re.compile(r"([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+)")
_SECRETS = (
    (re.compile(r"\bsk_(test|live)_[A-Za-z0-9]{8,}"), r"sk_\1_[redacted]"),  # client secrets
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=]{8,}"), "whsec_[redacted]"),  # webhook signing secrets
    (re.compile(r"\b(SB-)?Mid-(server|client)-[A-Za-z0-9_-]{6,}"), r"\1Mid-\2-[redacted]"),
    (re.compile(r"(?i)(authorization:\s*(basic|bearer)\s+)\S+"), r"\1[redacted]"),
)
_DIGITS = re.compile(r"\b\d(?:[ -]?\d){12,18}\b")


def redact(text: str) -> str:
    """The line with every secret, card number and full email address taken out."""
    for pattern, replacement in _SECRETS:
        text = pattern.sub(replacement, text)
    text = _EMAIL.sub(r"\1***@\2", text)
    return _DIGITS.sub(_card_or_number, text)


def _card_or_number(match: re.Match) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card redacted]" if _luhn(digits) else match.group()


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def bind(**ids: str | None) -> None:
    """Name what the lines from here on (in this request or job) concern: project_id,
    purchase_id, delivery_id."""
    for name, value in ids.items():
        _context[name].set(value)


def clear() -> None:
    for variable in _context.values():
        variable.set(None)


class _ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        for name, variable in _context.items():
            if not hasattr(record, name):
                setattr(record, name, variable.get())
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        line = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": redact(record.getMessage()),
        }
        for name in _CONTEXT_FIELDS:
            value = getattr(record, name, None)
            if value:
                line[name] = value
        if record.exc_info:
            line["exception"] = redact(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=False)


class TextFormatter(logging.Formatter):
    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        request_id = getattr(record, "request_id", None)
        return redact(f"{text} [{request_id}]" if request_id else text)


def formatter(log_format: str) -> logging.Formatter:
    return JsonFormatter() if log_format == "json" else TextFormatter()


def configure(log_format: str) -> None:
    """The root logger's one handler (stderr), with this format; called by every app made in
    the process, the last one's format wins."""
    root = logging.getLogger()
    handler = next((h for h in root.handlers if getattr(h, "lunas", False)), None)
    if handler is None:
        handler = logging.StreamHandler()
        handler.lunas = True
        handler.addFilter(_ContextFilter())
        root.addHandler(handler)
    handler.setFormatter(formatter(log_format))
    if root.level == logging.NOTSET or root.level > logging.INFO:
        root.setLevel(logging.INFO)


def context_filter() -> logging.Filter:
    """For another handler (a test's, an operator's) that should see the same ids."""
    return _ContextFilter()


def install(app: Flask) -> None:
    """The format now; the request's id once every other hook is in (`install_request_ids`)."""
    configure(app.config["LOG_FORMAT"])


def install_request_ids(app: Flask) -> None:
    """First of all before_request hooks (so a request the input guard refuses has its id
    too), and on every answer."""
    app.before_request_funcs.setdefault(None, []).insert(0, _start_request)
    app.after_request(_answer_request_id)
    app.teardown_request(lambda _exc: clear())


def _start_request() -> None:
    given = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = given if _SANE_REQUEST_ID.fullmatch(given) else uuid.uuid4().hex
    g.request_id = request_id
    clear()
    bind(request_id=request_id)


def _answer_request_id(response: Response) -> Response:
    request_id = g.get("request_id")
    if request_id:
        response.headers[REQUEST_ID_HEADER] = request_id
    return response
