"""Payments list and detail, and the project overview (a server-drawn chart)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import Response, abort, render_template, request, stream_with_context
from flask_babel import format_date, gettext, lazy_gettext

from app.clock import EARLIEST_DAY, LATEST_DAY, WIB, parse_date, start_of_day_utc, today_wib
from app.midtrans.payment_types import REFUNDABLE_PAYMENT_TYPES
from app.models import Environment, FulfilmentStatus, PaymentStatus, Project
from app.portal import bp
from app.portal.context import env_url, project_page
from app.services.checkout import handover
from app.services.checkout import reconcile as reconciler
from app.services.payments.cancel import CANCELLABLE
from app.services.payments.fulfilment import PAID as COMPLETABLE
from app.services.payments.refunds import REFUNDABLE_FROM, refundable, remaining
from app.services.reporting import overview as overviews
from app.services.reporting import payments as reports
from app.services.reporting.day_totals import DayTotals
from app.services.reporting.export import export_csv
from app.services.reporting.paging import Cursor, InvalidCursorError
from app.services.reporting.payments import PUBLIC_STATUSES, PaymentFilters

MAX_SEARCH_LENGTH = 254
# What each kind of timeline event (PaymentEvent.source) is called on the payment page.
EVENT_LABELS = {
    "notification": lazy_gettext("Midtrans notification"),
    "janitor": lazy_gettext("Status check with Midtrans (Get Status)"),
    "reconcile": lazy_gettext("Reconciliation with Midtrans (Get Status)"),
    "refund": lazy_gettext("Refund"),
    "refund_check": lazy_gettext("Refund checked with Midtrans"),
    "cancel": lazy_gettext("Cancelled"),
    "fulfilment": lazy_gettext("Order fulfilment"),
}


@bp.get("/projects/<project_id>")
@project_page
def project_overview(project: Project, env: Environment):
    overview = overviews.project_overview(project.id, env, today_wib(), WIB)
    return render_template(
        "portal/overview.html",
        overview=overview,
        revenue_chart=bar_chart(overview.days, lambda day: [day.revenue], money=True),
        count_chart=bar_chart(overview.days, lambda day: [day.created, day.paid]),
        day_url=day_url,
    )


@bp.get("/projects/<project_id>/payments")
@project_page
def payments(project: Project, env: Environment):
    filters, applied, problems = read_filters(request.args)
    after = _cursor_arg("after", problems)
    before = None if after else _cursor_arg("before", problems)
    page = reports.list_payments(project.id, env, filters, after=after, before=before)
    # A refused filter or page link is a 400, though the page still shows the list without
    # it and says which one was refused: a person can fix it right there.
    status = 400 if problems else 200
    return render_template(
        "portal/payments.html",
        page=page,
        applied=applied,
        filtered=not filters.is_empty,
        problems=problems,
        statuses=PUBLIC_STATUSES,
        # The paging links keep the filters; the cursor is the only thing that changes.
        older_url=page.older and env_url("portal.payments", after=page.older.encode(), **applied),
        newer_url=page.newer and env_url("portal.payments", before=page.newer.encode(), **applied),
        newest_url=env_url("portal.payments", **applied),
        export_url=env_url("portal.export_payments", **applied),
    ), status


@bp.get("/projects/<project_id>/payments.csv")
@project_page
def export_payments(project: Project, env: Environment):
    """Every payment of exactly the list's filters (a refused filter is a 400: an export must
    never quietly hold more than was asked for), streamed."""
    filters, _applied, problems = read_filters(request.args)
    if problems:
        abort(400, description=" ".join(problems))
    name = f"lunas-payments-{project.id}-{env}-{today_wib():%Y%m%d}.csv"
    return Response(
        stream_with_context(export_csv(project.id, env, filters)),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )


@bp.get("/projects/<project_id>/payments/<purchase_id>")
@project_page
def payment_detail(project: Project, env: Environment, purchase_id: str):
    if len(purchase_id) > 64 or not purchase_id.isprintable():
        abort(404)  # not an id we issue (and PostgreSQL refuses NUL in text)
    detail = reports.payment_detail(project.id, env, purchase_id)
    payment = detail.payment
    return render_template(
        "portal/payment.html",
        detail=detail,
        can_refund=refundable(payment),
        refund_left=remaining(payment),
        can_cancel=payment.status in CANCELLABLE,
        can_complete=payment.status in COMPLETABLE
        and payment.fulfilment_status == FulfilmentStatus.UNFULFILLED,
        refund_not_supported=payment.status in REFUNDABLE_FROM
        and payment.midtrans_payment_type not in REFUNDABLE_PAYMENT_TYPES,
        event_labels=EVENT_LABELS,
        delivery=handover.buyer_delivery(purchase_id),
    )


def day_url(day: date, **filters: str) -> str:
    """The payments list of one WIB day."""
    return env_url("portal.payments", **{"from": day.isoformat(), "to": day.isoformat()}, **filters)


def read_filters(args) -> tuple[PaymentFilters, dict[str, str], list[str]]:
    """The list's filters from the query string. Anything refused is left out and named in a
    problem message (the page answers 400, never an error page). Also returns the applied
    ones, for the form and the paging links."""
    applied: dict[str, str] = {}
    problems: list[str] = []
    status = None
    raw_status = args.get("status", "").strip()
    if raw_status:
        if raw_status in PUBLIC_STATUSES:
            status = PaymentStatus(raw_status)
            applied["status"] = raw_status
        else:
            problems.append(
                gettext(
                    "“%(status)s” is not a payment status: showing every status.",
                    status=raw_status[:40],
                )
            )
    days = {}
    for name in ("from", "to"):
        raw = args.get(name, "").strip()
        day = parse_date(raw)
        if raw and day is None:
            problems.append(_not_a_date(name, raw[:40]))
        elif day is not None:
            days[name] = day
            applied[name] = day.isoformat()
    if "from" in days and "to" in days and days["from"] > days["to"]:
        problems.append(gettext("From is after To: no payment can match."))
    search = args.get("q", "").strip() or None
    if search and (len(search) > MAX_SEARCH_LENGTH or any(ord(ch) < 32 for ch in search)):
        problems.append(
            gettext("That search is not an order id, purchase id or email: it was ignored.")
        )
        search = None
    if search:
        applied["q"] = search
    filters = PaymentFilters(
        status=status,
        created_from=start_of_day_utc(days["from"]) if "from" in days else None,
        created_before=start_of_day_utc(days["to"] + timedelta(days=1)) if "to" in days else None,
        search=search,
    )
    return filters, applied, problems


def _cursor_arg(name: str, problems: list[str]) -> Cursor | None:
    try:
        return reports.KEYSET.read(request.args.get(name), name)
    except InvalidCursorError:
        problems.append(
            gettext(
                "That page link (%(name)s) is not valid (any more): showing the newest payments.",
                name=name,
            )
        )
        return None


def _not_a_date(name: str, raw: str) -> str:
    values = {"earliest": EARLIEST_DAY, "latest": LATEST_DAY, "value": raw}
    if name == "from":
        return gettext(
            "From must be a date as YYYY-MM-DD between %(earliest)s and %(latest)s: "
            "“%(value)s” was ignored.",
            **values,
        )
    return gettext(
        "To must be a date as YYYY-MM-DD between %(earliest)s and %(latest)s: "
        "“%(value)s” was ignored.",
        **values,
    )


# -- the chart -------------------------------------------------------------------------------

WIDTH, PLOT_LEFT, PLOT_TOP, PLOT_HEIGHT = 760, 110, 12, 170
PLOT_WIDTH = WIDTH - PLOT_LEFT - 8


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Slot:
    day: DayTotals
    x: float  # the day's column: a hover and click target as wide as the column
    bars: list[Bar]
    label: str | None  # an x-axis label under some columns


@dataclass(frozen=True)
class Chart:
    slots: list[Slot]
    ticks: list[tuple[float, int]]  # (y, value) of the horizontal grid lines
    money: bool
    width: int = WIDTH
    height: int = PLOT_TOP + PLOT_HEIGHT + 30
    left: int = PLOT_LEFT
    top: int = PLOT_TOP
    plot_width: int = PLOT_WIDTH
    plot_height: int = PLOT_HEIGHT
    slot_width: float = 0.0


def bar_chart(days: list[DayTotals], values, money: bool = False) -> Chart:
    """Geometry for an SVG bar chart: one column per day, one bar per value (side by side)."""
    top = 4 * nice_step(-(-max(max(values(day)) for day in days) // 4))
    slot_width = PLOT_WIDTH / len(days)
    series = len(values(days[0]))
    bar_width = slot_width * 0.7 / series
    slots = []
    for index, day in enumerate(days):
        x = PLOT_LEFT + index * slot_width
        bars = []
        for number, value in enumerate(values(day)):
            height = PLOT_HEIGHT * value / top
            left = x + slot_width * 0.15 + number * bar_width
            bars.append(Bar(left, PLOT_TOP + PLOT_HEIGHT - height, bar_width, height))
        # Today and every seventh day before it (the same weekday) are labelled.
        weekly = (len(days) - 1 - index) % 7 == 0
        label = format_date(day.day, "d MMM") if weekly else None
        slots.append(Slot(day, x, bars, label))
    ticks = [(PLOT_TOP + PLOT_HEIGHT * (1 - step / 4), top * step // 4) for step in range(5)]
    return Chart(slots, ticks, money, slot_width=slot_width)


def nice_step(value: int) -> int:
    """The smallest 1, 2, 2.5 or 5 × 10^k (a whole number) at or above value, at least 1."""
    scale = 1
    while True:
        for multiple in (1, 2, 2.5, 5):
            step = multiple * scale
            if step == int(step) and step >= value:
                return int(step)
        scale *= 10


@bp.get("/projects/<project_id>/reconciliation")
@project_page
def reconciliation(project: Project, env: Environment):
    """The reconciler's daily report (SPEC §15): what it asked Midtrans, what it corrected."""
    return render_template(
        "portal/reconciliation.html",
        days=reconciler.report_days(project.id, env),
        corrections=reconciler.corrections(project.id, env),
        calls_per_minute=reconciler.calls_per_minute(),
    )
