"""An item's hosted link, its public image, and the buyer's delivery. Thin, as every view:
read the request, call one service, shape its answer (in Bahasa Indonesia)."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app, redirect, render_template, request, send_file, url_for

from app.errors import NotFoundError, ServiceError, ValidationError
from app.extensions import db
from app.http_headers import content_security_policy, protect
from app.purchase.page import TEST_MODE_NOTICE
from app.rate_limits import rate_limit
from app.services.checkout import handover
from app.services.checkout.stock import ItemInactiveError, SoldOutError
from app.services.items import link, media
from app.storefront import bp
from app.storefront.forms import LinkForm

protect(bp)

# The form's fields, named as the checkout names them, for a refusal the form did not foresee.
_FIELDS = frozenset({"amount", "quantity", "buyer_email", "buyer_phone", "buyer_name"})
GONE_TEXTS = {
    "expired": "Tautan unduhan ini sudah kedaluwarsa (berlaku 7 hari).",
    "used_up": "Tautan unduhan ini sudah dipakai 10 kali, batas maksimalnya.",
    "revoked": "Tautan unduhan ini sudah tidak berlaku.",
}
ASK_SELLER = "Hubungi penjual untuk meminta tautan baru."


@bp.get("/i/<slug>")
def item_page(slug: str):
    item = link.find_link_item(slug)
    return _render_item(item, LinkForm(item))


@bp.post("/i/<slug>")
@rate_limit("RATE_LIMIT_LINK")
def buy(slug: str):
    item = link.find_link_item(slug)
    form = LinkForm(item)
    if not item.on_sale:
        return _render_item(item, form, status=409)
    if not form.validate():
        return _render_item(item, form, status=400)
    try:
        result = link.buy_through_link(
            slug,
            buyer_email=form.buyer_email.data,
            quantity=form.quantity.data,
            amount=form.amount.data,
            buyer_name=(form.buyer_name.data or "").strip() or None,
            buyer_phone=(form.buyer_phone.data or "").strip() or None,
        )
    except SoldOutError:
        db.session.rollback()
        item = link.find_link_item(slug)
        form = LinkForm(item)
        if item.on_sale:
            form.quantity.errors = [f"Stok tinggal {item.max_quantity}. Kurangi jumlahnya."]
        return _render_item(item, form, status=409)
    except ItemInactiveError:
        db.session.rollback()
        return _render_item(link.find_link_item(slug), form, status=409)
    except ValidationError as exc:
        field = getattr(form, exc.field) if exc.field in _FIELDS else None
        if field is None:
            form.form_errors.append("Periksa kembali isian Anda.")
        else:
            field.errors = [*field.errors, "Periksa kembali isian ini."]
        return _render_item(item, form, status=400)
    except ServiceError as exc:
        # The project may not take money now, or Midtrans did not answer: nothing was kept.
        db.session.rollback()
        item = link.find_link_item(slug)
        if item.on_sale:
            form.form_errors.append(
                "Pembayaran belum dapat dibuat saat ini. Silakan coba lagi sebentar lagi."
            )
        return _render_item(item, form, status=exc.http_status)
    return redirect(url_for("purchase.pay", purchase_id=result.payment.purchase_id), 303)


@bp.get("/media/<key>")
def image(key: str):
    """An item's image: public, by a random key, never a delivery file."""
    file = media.public_image(key)
    response = send_file(
        media.media_path(file.key), mimetype=file.content_type, conditional=True, max_age=86400
    )
    response.headers["Cache-Control"] = "public, max-age=86400"
    return response


@bp.get("/d/<token>")
def download(token: str):
    """A paid buyer's delivery: each opening counted (a HEAD is not), the file streamed as an
    attachment."""
    found = handover.open_link(token, count=request.method != "HEAD")
    if found.file is None:
        return render_template("storefront/content.html", found=found)
    return send_file(
        media.media_path(found.file.key),
        mimetype=found.file.content_type,
        as_attachment=True,
        download_name=found.file.filename,
        conditional=False,
        etag=False,
    )


@bp.errorhandler(NotFoundError)
def not_found(_exc):
    return render_template(
        "storefront/message.html",
        title="Tidak ditemukan",
        message="Tautan ini tidak menunjuk ke produk atau unduhan mana pun. Periksa kembali "
        "tautan dari penjual.",
    ), 404


@bp.errorhandler(handover.DeliveryGoneError)
def gone(exc: handover.DeliveryGoneError):
    return render_template(
        "storefront/message.html",
        title="Tautan tidak berlaku",
        message=f"{GONE_TEXTS.get(exc.reason, GONE_TEXTS['revoked'])} {ASK_SELLER}",
    ), 410


@bp.errorhandler(429)
def too_many(_exc):
    return render_template(
        "storefront/message.html",
        title="Terlalu banyak percobaan",
        message="Terlalu banyak pesanan dari alamat Anda dalam waktu singkat. Tunggu sebentar, "
        "lalu coba lagi.",
    ), 429


def _render_item(item: link.LinkItem, form: LinkForm, status: int = 200):
    body = render_template(
        "storefront/item.html", item=item, form=form, test_mode_notice=TEST_MODE_NOTICE
    )
    # The form goes on to Midtrans (or the simulator under `make run`) through /pay/<id>.
    base = urlsplit(current_app.config["PUBLIC_BASE_URL"])
    policy = content_security_policy(form_action=f"'self' https: {base.scheme}://{base.netloc}")
    return body, status, {"Content-Security-Policy": policy}
