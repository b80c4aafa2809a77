"""What the buyer's callback page says in each state, and when it may refresh or redirect.

Everything here is derived from our own payment record (a PaymentView); nothing from the query
string except `order_id` and the no-JavaScript refresh counter."""

from __future__ import annotations

import ipaddress
import math
import re
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna
from flask import url_for

from app.formatting import format_rupiah
from app.models import Environment, PaymentStatus
from app.models.base import utcnow
from app.services.checkout.handover import BuyerDelivery
from app.services.checkout.lookup import PaymentView

# How long the success state shows before it sends the buyer back to the store.
STORE_REDIRECT_SECONDS = 5
NOT_FOUND = "not_found"


@dataclass(frozen=True)
class StateText:
    title: str
    message: str
    tone: str  # the colour and icon: success, wait, fail, muted, info


STATE_TEXTS: dict[str, StateText] = {
    "settlement": StateText(
        "Pembayaran berhasil",
        "Terima kasih, pembayaran Anda sudah kami terima. Anda boleh menutup halaman ini.",
        "success",
    ),
    "pending": StateText(
        "Menunggu pembayaran",
        "Kami belum menerima konfirmasi pembayaran Anda. Halaman ini diperbarui otomatis "
        "begitu pembayaran diterima.",
        "wait",
    ),
    "cancel": StateText(
        "Pembayaran gagal atau dibatalkan",
        "Pembayaran ini ditolak atau dibatalkan. Silakan kembali ke toko untuk memesan ulang.",
        "fail",
    ),
    "expire": StateText(
        "Pembayaran kedaluwarsa",
        "Batas waktu pembayaran sudah lewat. Silakan kembali ke toko untuk memesan ulang.",
        "muted",
    ),
    "refund": StateText(
        "Dana dikembalikan",
        "Pembayaran ini sudah dikembalikan seluruhnya. Lama dana masuk ke rekening Anda "
        "tergantung bank atau penyedia pembayaran.",
        "info",
    ),
    "partial_refund": StateText(
        "Dana dikembalikan sebagian",
        "Sebagian pembayaran ini sudah dikembalikan. Lama dana masuk ke rekening Anda "
        "tergantung bank atau penyedia pembayaran.",
        "info",
    ),
    NOT_FOUND: StateText(
        "Pesanan tidak ditemukan",
        "Kami tidak menemukan pesanan ini. Periksa kembali tautan dari toko Anda.",
        "muted",
    ),
}

# Messages that replace a state's own in two situations, and the store link's labels.
PHRASES = {
    "settlement_redirect": "Terima kasih, pembayaran Anda sudah kami terima. "
    "Sebentar lagi Anda kembali ke toko.",
    "stalled": "Konfirmasi pembayaran belum kami terima. Sudah membayar? Tunggu sebentar, "
    "lalu tekan Cek lagi.",
    "checking": "Memeriksa status otomatis…",
    "remaining": "Memeriksa otomatis · sisa {n} detik",
    "go_now": "Kembali ke toko sekarang",
    "go": "Kembali ke toko",
}
# On every page of a sandbox payment: anyone can make one for free, so without it a sandbox
# "Pembayaran berhasil" on our domain could pass for a real payment.
TEST_MODE_NOTICE = "Mode uji coba — tidak ada uang sungguhan"
# A host name as a browser shows it: ASCII letters, digits, dots, hyphens (and underscores,
# which browsers accept though IDNA does not).
_ASCII_HOST = re.compile(r"[a-z0-9_-]+(\.[a-z0-9_-]+)*\.?")


@dataclass(frozen=True)
class Refresh:
    """A `<meta http-equiv="refresh">`, used only inside `<noscript>`."""

    seconds: int
    url: str


@dataclass(frozen=True)
class CallbackPage:
    payment: PaymentView | None
    state: str
    title: str
    message: str
    tone: str
    http_status: int
    poll_interval_ms: int
    poll_limit_ms: int
    store_url: str | None = None  # the validated store URL, only on final states
    store_host: str | None = None  # where store_url goes, as the countdown names it
    auto_return: bool = False  # settlement with a store URL: count down, then go
    refresh: Refresh | None = None
    check_again_url: str | None = None  # pending without JavaScript, refreshes used up
    continue_url: str | None = None  # pending, still open at Midtrans: back to paying
    delivery: BuyerDelivery | None = None  # settled, the item's delivery: shown, no redirect
    paid_url: str | None = None  # pending with a delivery to come: reload once paid

    @property
    def pending(self) -> bool:
        return self.state == "pending"

    @property
    def test_mode(self) -> bool:
        return self.payment is not None and self.payment.environment == Environment.SANDBOX

    @property
    def test_mode_notice(self) -> str:
        return TEST_MODE_NOTICE

    @property
    def redirect_seconds(self) -> int:
        return STORE_REDIRECT_SECONDS

    @property
    def amount(self) -> str:
        return format_rupiah(self.payment.amount) if self.payment else ""


def build_callback_page(
    view: PaymentView | None,
    refreshes: int,
    interval_seconds: int,
    limit_seconds: int,
    delivery: BuyerDelivery | None = None,
    delivery_due: bool = False,
) -> CallbackPage:
    """The page for `view`; `delivery` is what a settled item checkout hands over, and
    `delivery_due` says a pending one will have one (the script reloads once it is paid)."""
    timing = {"poll_interval_ms": interval_seconds * 1000, "poll_limit_ms": limit_seconds * 1000}
    if view is None:
        return _page(NOT_FOUND, None, http_status=404, **timing)
    if view.status == PaymentStatus.PENDING:
        # The <noscript> path reloads the page; a counter in the URL bounds it to the same
        # time limit as the JavaScript polling, then the buyer gets a manual "Cek lagi" link.
        most = max(1, math.ceil(limit_seconds / interval_seconds))
        done = min(max(refreshes, 0), most)
        # Midtrans keeps the checkout open until it expires: the buyer may go back to it.
        still_open = view.expires_at is not None and view.expires_at > utcnow()
        pending = {
            "continue_url": url_for("purchase.pay", purchase_id=view.purchase_id)
            if still_open
            else None,
            "paid_url": url_for("purchase.callback", order_id=view.purchase_id)
            if delivery_due
            else None,
            **timing,
        }
        if done < most:
            url = url_for("purchase.callback", order_id=view.purchase_id, r=done + 1)
            return _page(view.status, view, refresh=Refresh(interval_seconds, url), **pending)
        again = url_for("purchase.callback", order_id=view.purchase_id)
        return _page(
            view.status, view, message=PHRASES["stalled"], check_again_url=again, **pending
        )
    store_host = destination_host(view.redirect_url)
    # The buyer is sent on by itself only where the page can say honestly where to, and
    # never away from a delivery they came for.
    auto_return = (
        view.status == PaymentStatus.SETTLEMENT and store_host is not None and delivery is None
    )
    return _page(
        view.status,
        view,
        message=PHRASES["settlement_redirect"] if auto_return else None,
        store_url=view.redirect_url,
        store_host=store_host,
        auto_return=auto_return,
        # Without JavaScript the success page still takes the buyer home; no other state does.
        refresh=Refresh(STORE_REDIRECT_SECONDS, view.redirect_url) if auto_return else None,
        delivery=delivery,
        **timing,
    )


def _page(
    state: str,
    view: PaymentView | None,
    message: str | None = None,
    http_status: int = 200,
    **fields,
) -> CallbackPage:
    text = STATE_TEXTS[state]
    return CallbackPage(
        payment=view,
        state=state,
        title=text.title,
        message=message or text.message,
        tone=text.tone,
        http_status=http_status,
        **fields,
    )


def destination_host(url: str | None) -> str | None:
    """The host a URL sends the buyer to, as the countdown names it: never the userinfo (in
    `https://toko.example@evil.example/` the host is evil.example), and an international name
    in its ASCII (punycode) form, so look-alike letters cannot pass for another shop's name.
    The same UTS 46 mapping browsers use, so the name shown is the one they go to. None when
    there is no host, or it cannot be shown that way (the page then offers a link, and never
    sends the buyer anywhere by itself)."""
    if not url:
        return None
    try:
        host = urlsplit(url).hostname  # lower case, without userinfo or port
    except ValueError:
        return None
    if not host:
        return None
    if ":" in host:
        try:
            return f"[{ipaddress.IPv6Address(host).compressed}]"
        except ValueError:
            return None
    try:
        host = idna.encode(host, uts46=True, transitional=False).decode("ascii")
    except (idna.IDNAError, UnicodeError):
        if not host.isascii():
            return None
    return host if _ASCII_HOST.fullmatch(host) else None


def client_texts() -> dict:
    """The words the page's script needs to switch state without a reload (one source)."""
    return {
        "states": {
            state: {"title": text.title, "message": text.message, "tone": text.tone}
            for state, text in STATE_TEXTS.items()
        },
        **PHRASES,
    }
