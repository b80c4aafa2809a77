"""The migrations build exactly the schema the models declare: Alembic's autogenerate, run
against the database the migrations built for this test run, finds nothing to add, drop or
change. A model changed without its migration (or the other way round) fails here.

PostgreSQL only: it is the production database, and SQLite cannot reflect the expression
index on lower(buyer_email), so a comparison there would be a partial one."""

from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Column, MetaData, String

from app.extensions import db

pytestmark = pytest.mark.postgres_only


def schema_differences(app, metadata: MetaData = db.metadata) -> list:
    with app.app_context(), db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, metadata)


def test_autogenerate_finds_no_difference_between_migrations_and_models(app):
    assert schema_differences(app) == []


def test_the_check_sees_a_model_change_that_has_no_migration(app):
    # A column added to a model alone is exactly what the check exists to catch.
    changed = MetaData(naming_convention=db.metadata.naming_convention)
    for table in db.metadata.sorted_tables:
        table.to_metadata(changed)
    changed.tables["projects"].append_column(Column("unmigrated_note", String(10)))

    differences = schema_differences(app, changed)

    assert [diff[0] for diff in differences] == ["add_column"]
    assert differences[0][3].name == "unmigrated_note"
