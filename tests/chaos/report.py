"""The chaos run's report in Markdown: what ran where, each fault with the load it met and how
Lunas answered, how long it took to catch up, and every invariant that did not hold."""

from __future__ import annotations

import platform
import time
from collections import Counter
from typing import TYPE_CHECKING

from tests.chaos.invariants import __doc__ as INVARIANTS

if TYPE_CHECKING:
    from tests.chaos.suite import PhaseResult, Schedule, Topology


def _answers(answers: dict[tuple[str, str], int], kind: str) -> str:
    seen = Counter({outcome: n for (k, outcome), n in answers.items() if k == kind})
    return ", ".join(f"{outcome} × {n}" for outcome, n in sorted(seen.items())) or "none"


def render(schedule: Schedule, t: Topology, results: list[PhaseResult], seconds: float) -> str:
    violations = sum(len(r.new_violations) for r in results)
    last = results[-1].verdict.counts if results else {}
    lines = [
        "# Reliability: the chaos suite",
        "",
        f"Run {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on {platform.node()} "
        f"({platform.machine()}, Python {platform.python_version()}): the **{schedule.name}** "
        f"schedule, {seconds / 60:.1f} minutes in all. Command: `{schedule.command}`.",
        "",
        f"**Result: {'every invariant held' if not violations else f'{violations} violations'}"
        "** after every fault.",
        "",
        "## Topology",
        "",
        "- 2 web processes (gunicorn, 1 worker × 8 threads each) and 3 worker processes "
        "(`flask worker`, 4 delivery threads each), all `LUNAS_ENV=production` with JSON logs;",
        "- a PostgreSQL cluster of the suite's own (`initdb` in a temporary directory, run as "
        "the `postgres` user) and a redis-server of its own (nothing kept on disk);",
        "- the harness: a fake Midtrans speaking its wire format (Snap create, Get Status) and "
        "the merchant's webhook endpoint (verifying with `standardwebhooks`).",
        f"- Network: {t.network.describe()}.",
        "",
        "## Load",
        "",
        f"- {t.load.clients} merchant backends, each creating a checkout every "
        f"{t.load.pace:.2f} s on the next web process (`Idempotency-Key` = order id; after an "
        "error or a 5xx the same request again on the other web process, for up to 45 s);",
        "- 85 % of buyers pay: Midtrans settles, then sends the signed notification (20 % of "
        "them twice, 10 % followed by a stale `pending`), retrying whatever was not answered "
        "200 (0.5 s doubling to 5 s: Midtrans's own minutes, shortened);",
        f"- webhook retry schedule `{schedule.retry_schedule}` (WEBHOOK_RETRY_SCHEDULE, "
        "shortened), the merchant answering each delivery in 0.2 s.",
        "",
        "## Invariants",
        "",
        INVARIANTS.split("\n\n", 1)[1].strip(),
        "",
        "## Faults",
        "",
        "Each fault met the load for the given seconds (with load before and after it: "
        f"{schedule.warm:.0f} s each); then the load stopped and the invariants were checked "
        "once Lunas had caught up (every payment Midtrans settled settled in Lunas, its "
        "`item.purchased` delivered).",
        "",
        "| fault | what | seconds | checkouts answered | notifications answered | "
        "slowest answer | caught up after | new violations |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        caught = f"{r.caught_up_seconds:.1f} s" if r.caught_up_seconds is not None else "never"
        lines.append(
            f"| {r.fault.name} | {r.fault.what} | {r.fault.seconds:.0f} | "
            f"{_answers(r.answers, 'checkout')} | {_answers(r.answers, 'notification')} | "
            f"{max(r.slowest.values(), default=0):.1f} s | {caught} | {len(r.new_violations)} |"
        )
    lines += [
        "",
        "## Totals",
        "",
        f"- checkouts accepted: {last.get('accepted', 0)}; given up by their client after 45 s "
        f"of retries: {last.get('abandoned', 0)} (never answered 201, so not promised);",
        f"- payments settled: {last.get('settled', 0)}; left pending (never paid): "
        f"{last.get('pending', 0)};",
        f"- `item.purchased` events received: {last.get('webhook_ids', 0)} distinct "
        f"`webhook-id`s in {last.get('webhook_requests', 0)} requests "
        f"({last.get('redelivered', 0)} redeliveries of an event already received);",
        f"- tracebacks in Lunas's logs (a worker's task failing while PostgreSQL or Redis was "
        f"away, then trying again): {last.get('logged_tracebacks', 0)}.",
    ]
    notes = [(r.fault.name, note) for r in results for note in r.fault.notes]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {name}: {note}" for name, note in notes]
    if violations:
        lines += ["", "## Violations", ""]
        for r in results:
            lines += [f"- {r.fault.name}: {v}" for v in r.new_violations]
    return "\n".join(lines) + "\n"
