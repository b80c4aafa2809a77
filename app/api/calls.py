"""How a platform API request is read before its route does anything: the JSON body (bounded),
the credentials (HTTP Basic, or on POSTs the body fields of SPEC §3.1), and on POSTs the
Idempotency-Key that makes the answer repeatable (app/services/idempotency.py)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from flask import Response, make_response, request
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError
from werkzeug.datastructures import FileStorage
from werkzeug.exceptions import HTTPException, RequestEntityTooLarge

from app import logs
from app.api.errors import from_http_exception, from_service_error
from app.api.schemas import Query, first_error, first_query_error
from app.errors import (
    InvalidClientError,
    ServiceError,
    UnsupportedMediaTypeError,
    ValidationError,
)
from app.extensions import db
from app.json_input import JsonInputError, read_json
from app.models import ApiClient
from app.rate_limits import count_credential
from app.services import idempotency
from app.services.accounts.credentials import authenticate

Q = TypeVar("Q", bound=Query)


@dataclass(frozen=True)
class PostCall:
    client: ApiClient
    body: dict[str, Any]  # the JSON object, credentials included when they came in it
    raw: bytes


def authenticated_post(body_required: bool = True) -> PostCall:
    """The body and the credential of a POST. An action without fields (a cancel) may come
    with no body at all."""
    raw = read_body()
    if not raw and not body_required:
        body: dict[str, Any] = {}
    else:
        body = json_object(raw)
    return PostCall(_authenticate(*_credentials(body)), body, raw)


def authenticated_get() -> ApiClient:
    """The credential of a read: HTTP Basic only (a GET has no body to carry it)."""
    return _authenticate(*_credentials({}))


def authenticated_upload() -> tuple[ApiClient, FileStorage]:
    """The credential and the `file` field of a multipart upload: HTTP Basic, or the form
    fields client_id and client_secret."""
    if request.mimetype != "multipart/form-data":
        raise UnsupportedMediaTypeError("send the file as multipart/form-data, field 'file'")
    client = _authenticate(*_credentials(request.form))
    upload = request.files.get("file")
    if upload is None:
        raise ValidationError("file is required (a multipart field named 'file')", "file")
    return client, upload


def idempotent(call: PostCall, handler: Callable[[], Any]) -> Response:
    """The route's answer, kept under the request's Idempotency-Key when it has one, or the
    answer kept for that key, replayed."""
    value = request.headers.get(idempotency.HEADER)
    if value is None:
        return make_response(handler())
    key = idempotency.check_key(value)
    path = request.path + (f"?{request.query_string.decode()}" if request.query_string else "")
    found = idempotency.claim(
        call.client.project_id,
        call.client.environment,
        key,
        idempotency.fingerprint(request.method, path, call.raw),
    )
    if isinstance(found, idempotency.KeptAnswer):
        replay = Response(found.body, status=found.status, content_type=found.content_type)
        replay.headers["Idempotent-Replayed"] = "true"
        return replay
    try:
        response = make_response(handler())
    except (ServiceError, HTTPException) as exc:
        db.session.rollback()
        if isinstance(exc, ServiceError):
            response = from_service_error(exc)
        else:
            response = from_http_exception(exc)
    except BaseException:
        db.session.rollback()
        idempotency.release(found)
        raise
    if idempotency.is_kept(response.status_code):
        idempotency.keep(found, response.status_code, response.get_data(), response.content_type)
    else:
        idempotency.release(found)
    return response


def read_body() -> bytes:
    # get_data() enforces MAX_CONTENT_LENGTH: an oversized body is refused before it is read.
    raw = request.get_data(cache=False)
    if streamed_past_limit(raw):
        raise RequestEntityTooLarge()
    return raw


def streamed_past_limit(raw_body: bytes) -> bool:
    """A chunked body (no Content-Length) is cut at MAX_CONTENT_LENGTH without an error;
    one more byte waiting on the socket means the sender went past the limit."""
    if request.content_length is not None:
        return False
    if len(raw_body) < (request.max_content_length or 0):
        return False
    return bool(request.environ["wsgi.input"].read(1))


def json_object(raw: bytes) -> dict[str, Any]:
    if request.mimetype != "application/json":
        raise UnsupportedMediaTypeError("send the body as application/json")
    try:
        body = read_json(raw)
    except JsonInputError as exc:
        raise ValidationError(exc.message, exc.field) from None
    if not isinstance(body, dict):
        raise ValidationError("the body must be a JSON object")
    return body


def _authenticate(client_id: str, client_secret: str) -> ApiClient:
    client = authenticate(client_id, client_secret)
    if client is None:
        raise InvalidClientError("unknown client_id or wrong client_secret")
    count_credential(client)  # SPEC §12: per proven credential, before anything is done
    logs.bind(project_id=client.project_id)
    return client


def _credentials(body: Mapping[str, Any]) -> tuple[str, str]:
    basic = request.authorization
    in_body = "client_id" in body or "client_secret" in body
    if in_body and basic is not None:
        raise ValidationError("send credentials in the body or with HTTP Basic, not both")
    if in_body:
        client_id, client_secret = body.get("client_id"), body.get("client_secret")
        for name, value in (("client_id", client_id), ("client_secret", client_secret)):
            if value is not None and not isinstance(value, str):
                raise ValidationError(f"{name} must be a string", name)
    elif basic is not None and basic.type == "basic":
        client_id, client_secret = basic.username, basic.password
    else:
        client_id = client_secret = None
    if not client_id or not client_secret:
        raise InvalidClientError(
            "client_id and client_secret are required, in the body or with HTTP Basic"
        )
    return client_id, client_secret


def fields_of(model: type[BaseModel], body: dict[str, Any]) -> Any:
    """The body checked by its schema; ValidationError naming the first problem."""
    try:
        return model.model_validate(body)
    except PydanticValidationError as exc:
        message, field = first_error(exc)
        raise ValidationError(message, field) from None


def query_of(model: type[Q], args: Mapping[str, str]) -> Q:
    """The query string checked by its model; ValidationError naming the first problem."""
    try:
        return model.model_validate(dict(args.items()))
    except PydanticValidationError as exc:
        message, name = first_query_error(exc, model)
        raise ValidationError(message, name) from None
