"""One error envelope for every JSON answer: {"error": {"code", "message", "field"?}}, and
what an error adds (a QRIS error's "tag")."""

from __future__ import annotations

from flask import jsonify, request
from werkzeug.exceptions import HTTPException

from app.errors import ServiceError

HTTP_CODES = {
    400: "invalid_request",
    401: "invalid_client",
    403: "invalid_signature",
    404: "not_found",
    405: "method_not_allowed",
    409: "order_id_conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "amount_mismatch",
    429: "rate_limited",
    500: "internal_error",
    502: "upstream_error",
    503: "unavailable",
}

HTTP_MESSAGES = {
    400: "the request could not be understood",
    404: "no such resource",
    405: "method not allowed",
    500: "internal error",
}


def error_response(
    code: str, message: str, status: int, field: str | None = None, details: dict | None = None
):
    error = {"code": code, "message": message}
    if field is not None:
        error["field"] = field
    error.update(details or {})
    response = jsonify({"error": error})
    response.status_code = status
    return response


def from_service_error(exc: ServiceError):
    return error_response(exc.code, exc.message, exc.http_status, exc.field, exc.details())


def from_http_exception(exc: HTTPException):
    status = exc.code or 500
    code = HTTP_CODES.get(status, "internal_error" if status >= 500 else "invalid_request")
    message = HTTP_MESSAGES.get(status, exc.name.lower())
    if status == 413:
        message = f"the request body is larger than {_size(request.max_content_length)}"
    response = error_response(code, message, status)
    if status == 405 and exc.valid_methods:
        response.headers["Allow"] = ", ".join(exc.valid_methods)
    return response


def _size(limit: int | None) -> str:
    if not limit:
        return "allowed"
    if limit >= 1024 * 1024:
        return f"{limit // (1024 * 1024)} MB"
    return f"{limit // 1024} KB"
