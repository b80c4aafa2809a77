"""The error page's heading and text in the page's language (app/i18n.py), for the statuses
a merchant meets in the portal; the English is werkzeug's own, and any other status shows
werkzeug's English. The JSON API and the buyer's pages have their own (English envelope,
Bahasa Indonesia page)."""

from __future__ import annotations

from flask_babel import lazy_gettext
from werkzeug.exceptions import HTTPException, default_exceptions

STATUS_NAMES = {
    400: lazy_gettext("Bad Request"),
    401: lazy_gettext("Unauthorized"),
    403: lazy_gettext("Forbidden"),
    404: lazy_gettext("Not Found"),
    405: lazy_gettext("Method Not Allowed"),
    409: lazy_gettext("Conflict"),
    410: lazy_gettext("Gone"),
    413: lazy_gettext("Request Entity Too Large"),
    415: lazy_gettext("Unsupported Media Type"),
    422: lazy_gettext("Unprocessable Entity"),
    429: lazy_gettext("Too Many Requests"),
    500: lazy_gettext("Internal Server Error"),
    502: lazy_gettext("Bad Gateway"),
    503: lazy_gettext("Service Unavailable"),
}
STATUS_DESCRIPTIONS = {
    400: lazy_gettext(
        "The browser (or proxy) sent a request that this server could not understand."
    ),
    403: lazy_gettext(
        "You don't have the permission to access the requested resource. It is either "
        "read-protected or not readable by the server."
    ),
    404: lazy_gettext(
        "The requested URL was not found on the server. If you entered the URL manually please "
        "check your spelling and try again."
    ),
    405: lazy_gettext("The method is not allowed for the requested URL."),
    413: lazy_gettext("The data value transmitted exceeds the capacity limit."),
    429: lazy_gettext("This user has exceeded an allotted request count. Try again later."),
    500: lazy_gettext(
        "The server encountered an internal error and was unable to complete your request. "
        "Either the server is overloaded or there is an error in the application."
    ),
}


def status_name(code: int | None, english: str) -> str:
    return str(STATUS_NAMES.get(code, english))


def status_description(exc: HTTPException) -> str | None:
    """werkzeug's standard text for the status, translated; a description the code gave
    (abort(400, description=...)) is already in the page's language and is shown as it is."""
    standard = default_exceptions.get(exc.code)
    if exc.code in STATUS_DESCRIPTIONS and standard and exc.description == standard.description:
        return str(STATUS_DESCRIPTIONS[exc.code])
    return exc.description
