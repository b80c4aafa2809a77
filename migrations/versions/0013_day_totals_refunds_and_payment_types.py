"""day totals: refunded amounts and the paid breakdown by payment type

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 12:20:00.000000

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), 'postgresql')


def upgrade():
    # GET /api/platform/statistics reads closed days from the stored totals too
    # (app/services/reporting/day_totals.py), so a day also keeps what was refunded of its
    # payments and its paid payments by payment type.
    with op.batch_alter_table('payment_day_totals') as batch_op:
        batch_op.add_column(sa.Column('refunded', sa.BigInteger(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('breakdown', _JSON, nullable=False, server_default='{}'))
    # Rows stored before now have neither: stale, so the next read counts them again (the
    # version bump keeps a count already running from storing its old shape).
    op.execute('UPDATE payment_day_totals SET valid = false, version = version + 1')


def downgrade():
    with op.batch_alter_table('payment_day_totals') as batch_op:
        batch_op.drop_column('breakdown')
        batch_op.drop_column('refunded')
