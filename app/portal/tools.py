"""Tools → QRIS (SPEC §14): a merchant pastes the code of a bank's QRIS sticker or uploads a
photo of it, sees every field, and with an amount gets the dynamic code to print or share.
The same service as the API's qris/info and qris/convert."""

from __future__ import annotations

import io

from flask import abort, render_template, request, send_file
from flask_babel import gettext
from flask_login import login_required

from app.errors import InvalidQrisError, ServiceError
from app.input_guard import accepts_upload
from app.portal import bp
from app.portal.context import reason
from app.portal.forms import QrisForm
from app.services.qris import scan, tools

FORM_UPLOAD_LIMIT = scan.MAX_IMAGE_BYTES + 64 * 1024


@bp.route("/tools/qris", methods=["GET", "POST"])
@login_required
@accepts_upload(FORM_UPLOAD_LIMIT)
def qris_tool():
    form = QrisForm()
    code = result = None
    converting = request.form.get("action") == "convert"
    if form.validate_on_submit():
        try:
            code = _code_of(form)
            if converting and form.amount_value is None:
                form.amount.errors.append(gettext("Write the amount to put in the code."))
            elif converting:
                fee = tools.fee_of(form.fee_fixed, form.fee_percent)
                result = tools.convert(code, form.amount_value, fee)
        except ServiceError as exc:
            field = form.image if exc.field == "image" else form.qris
            field.errors.append(reason(exc))
    shown = result.code if result else code  # the fields of what the merchant will print
    return render_template(
        "portal/qris.html",
        form=form,
        code=shown,
        info=tools.info(shown) if shown else None,
        result=result,
    )


@bp.get("/tools/qris/qr.<kind>")
@login_required
def qris_qr(kind: str):
    """A QRIS code drawn: SVG to show, PNG to print (`?download=1` saves it). Only a valid
    code is drawn, so a link cannot be made to draw anything else under our name."""
    if kind not in ("svg", "png"):
        abort(404)
    try:
        code = tools.read_code(request.args.get("code", ""))
    except InvalidQrisError:
        abort(400)
    amount = code.amount
    name = f"qris-{int(amount) if amount is not None else 'static'}.{kind}"
    if kind == "svg":
        body, mimetype = tools.qr_svg(code.text).encode("utf-8"), "image/svg+xml"
    else:
        body, mimetype = tools.qr_png(code.text), "image/png"
    return send_file(
        io.BytesIO(body),
        mimetype=mimetype,
        as_attachment=bool(request.args.get("download")),
        download_name=name,
    )


def _code_of(form: QrisForm):
    if not form.has_picture():
        return tools.read_code(form.qris.data)
    code = tools.read_picture(form.image.data.stream.read(scan.MAX_IMAGE_BYTES + 1))
    form.qris.data = code.text  # the next submit (an amount, say) needs no second upload
    return code
