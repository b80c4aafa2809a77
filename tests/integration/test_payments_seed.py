"""`flask payments seed`: fake payments in bulk for one project environment.
PostgreSQL takes the INSERT … SELECT path; the SQLite pass takes the Python path."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from app.extensions import db
from app.models import PAID_STATUSES, Payment
from app.models.base import utcnow
from app.services.reporting.payments import PUBLIC_STATUSES
from tests.helpers import invoke, new_project, row_count


def seed(app, *args: str):
    return invoke(app, "payments", "seed", *args)


def test_seed_inserts_the_count_for_that_project_environment_only(app, project):
    with app.app_context():
        other = new_project(name="Toko Budi", owner="budi@example.com").project_id
    started = utcnow()

    result = seed(app, "--project", project.project_id, "--count", "240", "--days", "10")

    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout[result.stdout.index("{") :])
    assert (report["project_id"], report["environment"], report["inserted"]) == (
        project.project_id,
        "sandbox",
        240,
    )
    with app.app_context():
        rows = db.session.execute(select(Payment)).scalars().all()
        assert {(row.project_id, row.environment) for row in rows} == {
            (project.project_id, "sandbox")
        }
        assert len(rows) == 240 and other not in {row.project_id for row in rows}
        assert len({row.order_id for row in rows}) == len({row.purchase_id for row in rows}) == 240
        assert {row.status for row in rows} <= set(PUBLIC_STATUSES)
        assert sum(row.status == "settlement" for row in rows) > 120  # mostly settled
        for row in rows:
            assert started - timedelta(days=10, seconds=5) <= row.created_at <= utcnow()
            assert (row.paid_at is not None) == (row.status in PAID_STATUSES)
            assert row.paid_at is None or row.created_at <= row.paid_at <= utcnow()
            assert row.amount >= 5000 and row.metadata_ == {"seeded": True}
            # pending only inside the checkout lifetime; older ones have expired
            assert row.status != "pending" or row.expires_at > started


def test_seeding_twice_adds_more_with_fresh_ids(app, project):
    assert seed(app, "--project", project.project_id, "--count", "30").exit_code == 0
    assert seed(app, "--project", project.project_id, "--count", "30").exit_code == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(func.distinct(Payment.order_id)))) == 60


def test_production_needs_an_explicit_flag(app, project):
    refused = seed(app, "--project", project.project_id, "--env", "production", "--count", "5")
    allowed = seed(
        app,
        "--project",
        project.project_id,
        "--env",
        "production",
        "--count",
        "5",
        "--allow-production",
    )

    assert refused.exit_code != 0 and "--allow-production" in refused.output
    assert allowed.exit_code == 0, allowed.output
    with app.app_context():
        environments = db.session.scalars(select(Payment.environment)).all()
        assert environments == ["production"] * 5


def test_an_unknown_project_or_a_bad_count_is_refused(app, project):
    unknown = seed(app, "--project", "prj_nope", "--count", "5")
    zero = seed(app, "--project", project.project_id, "--count", "0")

    assert unknown.exit_code != 0 and "no project" in unknown.output
    assert zero.exit_code != 0 and "count" in zero.output
    assert row_count(app, Payment) == 0
