"""portal payment indexes

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 04:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

# The portal's payments list, search and overview (docs/PERFORMANCE.md, "Portal at a million
# payments"). Every list index starts with (project_id, environment) and ends with
# (created_at, id), the keyset order, so each page is one short index range scan.
# The partial indexes' predicates are repeated word for word in app/services/day_totals.py.
NOT_CREATING = sa.text("status <> 'creating'")
PAID = sa.text("paid_at IS NOT NULL AND status IN ('settlement', 'refund', 'partial_refund')")

INDEXES = [
    # The list without a status filter, and the overview's count of payments created per day
    # (index-only: the "creating" rows, internal, are left out by the predicate).
    dict(
        name='ix_payments_project_env_created',
        columns=['project_id', 'environment', 'created_at', 'id'],
        postgresql_where=NOT_CREATING,
        sqlite_where=NOT_CREATING,
    ),
    dict(
        name='ix_payments_project_env_status_created',
        columns=['project_id', 'environment', 'status', 'created_at', 'id'],
    ),
    # Search by buyer email, whole address, any case.
    dict(
        name='ix_payments_project_env_email_created',
        columns=['project_id', 'environment', sa.text('lower(buyer_email)'), 'created_at', 'id'],
    ),
    # The overview's paid count and revenue per day: index-only on PostgreSQL (INCLUDE).
    dict(
        name='ix_payments_project_env_paid',
        columns=['project_id', 'environment', 'paid_at'],
        postgresql_include=['amount'],
        postgresql_where=PAID,
        sqlite_where=PAID,
    ),
]


def upgrade():
    if op.get_context().dialect.name == 'postgresql':
        # CONCURRENTLY: building these on a big payments table must not block checkouts
        # (a plain CREATE INDEX holds off every INSERT and UPDATE until it finishes).
        with op.get_context().autocommit_block():
            for index in INDEXES:
                spec = dict(index)
                op.create_index(
                    spec.pop('name'), 'payments', spec.pop('columns'),
                    postgresql_concurrently=True, **spec,
                )
        return
    for index in INDEXES:
        spec = dict(index)
        op.create_index(spec.pop('name'), 'payments', spec.pop('columns'), **spec)


def downgrade():
    for index in reversed(INDEXES):
        op.drop_index(index['name'], table_name='payments')
