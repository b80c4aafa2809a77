"""The QRIS tools (SPEC §14). Thin routes, as in routes.py: read the request, call one service,
shape its answer through its response model (app/api/schemas.py)."""

from __future__ import annotations

from flask import request

from app.api import bp
from app.api.answers import QrisConverted, QrisInfo, shaped
from app.api.calls import (
    PostCall,
    authenticated_get,
    authenticated_post,
    fields_of,
    idempotent,
    query_of,
)
from app.api.schemas import QrisConvertRequest, QrisInfoQuery, QrisInfoRequest
from app.input_guard import accepts_upload
from app.services.qris import tools

# The picture as base64 (4/3 of its 2 MB) and the JSON around it.
CONVERT_BODY_LIMIT = 3 * 1024 * 1024


@bp.get("/platform/qris/info")
def qris_info_get():
    authenticated_get()
    return _info(query_of(QrisInfoQuery, request.args).qris)


@bp.post("/platform/qris/info")
def qris_info_post():
    call = authenticated_post()
    return idempotent(call, lambda: _info(fields_of(QrisInfoRequest, call.body).qris))


@bp.post("/platform/qris/convert")
@accepts_upload(CONVERT_BODY_LIMIT)
def qris_convert():
    call = authenticated_post()
    return idempotent(call, lambda: _convert(call))


def _info(text: str) -> dict:
    return shaped(QrisInfo, tools.info(tools.read_code(text)))


def _convert(call: PostCall) -> dict:
    fields = fields_of(QrisConvertRequest, call.body)
    if fields.image is not None:
        code = tools.read_image(fields.image)
    else:
        code = tools.read_code(fields.qris)
    result = tools.convert(code, fields.amount, tools.fee_of(fields.fee_fixed, fields.fee_percent))
    return shaped(QrisConverted, tools.converted(result))
