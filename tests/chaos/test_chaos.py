"""The chaos suite as a test: every fault under load, every invariant after each. The short
schedule runs in `make test`; `make chaos` runs the long one and writes docs/RELIABILITY.md."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.chaos.cluster import postgres_bin
from tests.chaos.suite import LONG, SHORT, run
from tests.processes import REDIS_SERVER, REPO

pytestmark = [
    pytest.mark.chaos,
    pytest.mark.skipif(postgres_bin() is None, reason="needs PostgreSQL's initdb"),
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs the redis-server binary"),
]


def test_no_payment_event_is_lost_doubled_or_forged_when_parts_fail(tmp_path):
    schedule = LONG if os.environ.get("CHAOS_SCHEDULE") == "long" else SHORT
    results, text = run(schedule, tmp_path)

    artifacts = REPO / "test-artifacts" / "chaos"
    artifacts.mkdir(parents=True, exist_ok=True)
    (artifacts / f"report-{schedule.name}.md").write_text(text)
    if os.environ.get("CHAOS_REPORT"):
        Path(os.environ["CHAOS_REPORT"]).write_text(text)

    assert results, "no fault ran"
    problems = [f"{r.fault.name}: {v}" for r in results for v in r.new_violations]
    assert not problems, "\n".join(problems) + "\n\n" + text
    # The load went on through every fault: money kept coming in.
    counts = results[-1].verdict.counts
    assert counts["settled"] >= 10 * len(results), text
    assert counts["webhook_ids"] == counts["settled"], text
