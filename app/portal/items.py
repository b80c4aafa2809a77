"""The Items tab (SPEC §13): each item's sales and revenue, create / edit / archive, the image
and the delivery, the link to copy, its QR code (SVG and PNG), and the page as buyers see it.
Everything goes through app/services/items, the same functions the API calls."""

from __future__ import annotations

import io

import segno
from flask import abort, flash, redirect, render_template, request, send_file
from flask_babel import gettext
from werkzeug.datastructures import FileStorage

from app.errors import ServiceError
from app.input_guard import accepts_upload
from app.models import Environment, Item, Project
from app.portal import bp
from app.portal.context import env_url, project_page, reason
from app.portal.forms import ItemForm
from app.services.items import catalog
from app.services.items.media import MAX_DELIVERY_BYTES, MAX_IMAGE_BYTES, MULTIPART_OVERHEAD
from app.services.scope import ProjectEnvironment

FORM_UPLOAD_LIMIT = MAX_DELIVERY_BYTES + MAX_IMAGE_BYTES + MULTIPART_OVERHEAD
# The service's field names → the form's, where they differ.
_FORM_FIELDS = {"delivery": "delivery_text"}


@bp.get("/projects/<project_id>/items")
@project_page
def items(project: Project, env: Environment):
    scope = ProjectEnvironment(project.id, env)
    listed = catalog.portal_items(scope)
    return render_template(
        "portal/items.html", items=listed, sales=catalog.sales_of(scope), link_url=catalog.link_url
    )


@bp.route("/projects/<project_id>/items/new", methods=["GET", "POST"])
@project_page
@accepts_upload(FORM_UPLOAD_LIMIT)
def new_item(project: Project, env: Environment):
    form = ItemForm()
    if form.validate_on_submit():
        scope = ProjectEnvironment(project.id, env)
        try:
            item = catalog.create_item(scope, form.item_fields(creating=True))
        except ServiceError as exc:
            _show_refusal(form, exc)
        else:
            _save_files(scope, item, form)
            return redirect(env_url("portal.edit_item", item_id=item.item_id), 303)
    return render_template("portal/item_form.html", form=form, item=None)


@bp.route("/projects/<project_id>/items/<item_id>", methods=["GET", "POST"])
@project_page
@accepts_upload(FORM_UPLOAD_LIMIT)
def edit_item(project: Project, env: Environment, item_id: str):
    scope = ProjectEnvironment(project.id, env)
    item = catalog.find_item(scope, item_id)
    form = ItemForm(data=None if request.method == "POST" else ItemForm.values_of(item))
    if form.validate_on_submit():
        try:
            item = catalog.update_item(scope, item_id, form.item_fields(creating=False))
        except ServiceError as exc:
            _show_refusal(form, exc)
        else:
            _save_files(scope, item, form)
            return redirect(env_url("portal.edit_item", item_id=item.item_id), 303)
    return render_template(
        "portal/item_form.html",
        form=form,
        item=item,
        item_object=catalog.item_object(item),
        sales=catalog.sales_of(scope).get(item.id, catalog.Sales()),
    )


@bp.post("/projects/<project_id>/items/<item_id>/archive")
@project_page
def archive_item(project: Project, env: Environment, item_id: str):
    item = catalog.archive_item(ProjectEnvironment(project.id, env), item_id)
    flash(gettext("%(name)s is archived: its link now says it is not available.", name=item.name))
    return redirect(env_url("portal.items"), 303)


@bp.post("/projects/<project_id>/items/<item_id>/image/remove")
@project_page
def remove_item_image(project: Project, env: Environment, item_id: str):
    catalog.remove_image(ProjectEnvironment(project.id, env), item_id)
    flash(gettext("Image removed."))
    return redirect(env_url("portal.edit_item", item_id=item_id), 303)


@bp.post("/projects/<project_id>/items/<item_id>/delivery/remove")
@project_page
def remove_item_delivery(project: Project, env: Environment, item_id: str):
    catalog.remove_delivery(ProjectEnvironment(project.id, env), item_id)
    flash(gettext("Delivery removed: download links already given stop working."))
    return redirect(env_url("portal.edit_item", item_id=item_id), 303)


@bp.get("/projects/<project_id>/items/<item_id>/qr.<kind>")
@project_page
def item_qr(project: Project, env: Environment, item_id: str, kind: str):
    """The link's QR code: SVG to show, PNG to print (`?download=1` saves it)."""
    if kind not in ("svg", "png"):
        abort(404)
    item = catalog.find_item(ProjectEnvironment(project.id, env), item_id)
    buffer = io.BytesIO()
    segno.make(catalog.link_url(item), error="m").save(buffer, kind=kind, scale=8, border=2)
    buffer.seek(0)
    return send_file(
        buffer,
        mimetype="image/svg+xml" if kind == "svg" else "image/png",
        as_attachment=bool(request.args.get("download")),
        download_name=f"{item.slug}-qr.{kind}",
    )


def _save_files(scope: ProjectEnvironment, item: Item, form: ItemForm) -> None:
    """The image and the delivery file the form carried, each checked by its content; a
    refused one is said on the item's page (the rest of the form is saved)."""
    uploads = (
        ("image", catalog.put_image, form.image.data),
        ("delivery file", catalog.put_delivery_file, form.delivery_file.data),
    )
    for kind, put, upload in uploads:
        if not isinstance(upload, FileStorage) or not upload.filename:
            continue
        try:
            put(scope, item.item_id, upload.stream, upload.filename)
        except ServiceError as exc:
            flash(_not_saved(kind, exc))
    flash(gettext("%(name)s is saved.", name=item.name))


def _not_saved(kind: str, exc: ServiceError) -> str:
    if kind == "image":
        return gettext("The image was not saved: %(reason)s", reason=reason(exc))
    return gettext("The delivery file was not saved: %(reason)s", reason=reason(exc))


def _show_refusal(form: ItemForm, exc: ServiceError) -> None:
    name = _FORM_FIELDS.get(exc.field or "", exc.field or "")
    field = getattr(form, name, None) if name else None
    if field is not None and hasattr(field, "errors"):
        field.errors = [*field.errors, reason(exc)]
    else:
        form.form_errors.append(reason(exc))
