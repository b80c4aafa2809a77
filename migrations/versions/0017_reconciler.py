"""reconciler: its day counts, its due index, and the schedule of the payments already there

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-07 16:00:00.000000

app/services/checkout/reconcile.py asks Midtrans about every pending payment on a back-off
and about every settlement once more a day after it was paid. Payments that exist already: a
pending one keeps its time (none yet: due at once; the reconciler spreads its calls), a
settlement paid in the last day is due a day after it was paid (PostgreSQL; development's
SQLite data skips that check), and nothing else is ever asked about again.
"""
import sqlalchemy as sa
from alembic import op


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'reconcile_days',
        sa.Column('project_id', sa.String(length=40), sa.ForeignKey('projects.id'), nullable=False),
        sa.Column('environment', sa.String(length=16), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('checked', sa.Integer(), server_default='0', nullable=False),
        sa.Column('corrected', sa.Integer(), server_default='0', nullable=False),
        sa.Column('failed', sa.Integer(), server_default='0', nullable=False),
        sa.PrimaryKeyConstraint('project_id', 'environment', 'day'),
    )
    op.create_index(
        'ix_payments_reconcile_due', 'payments', ['next_reconcile_at'],
        postgresql_where=sa.text('next_reconcile_at IS NOT NULL'),
        sqlite_where=sa.text('next_reconcile_at IS NOT NULL'),
    )
    op.create_index(
        'ix_payment_events_reconcile_received', 'payment_events', ['received_at'],
        postgresql_where=sa.text("source = 'reconcile'"),
        sqlite_where=sa.text("source = 'reconcile'"),
    )
    op.execute(
        "UPDATE payments SET next_reconcile_at = NULL "
        "WHERE status NOT IN ('pending', 'settlement') AND next_reconcile_at IS NOT NULL"
    )
    op.execute("UPDATE payments SET next_reconcile_at = NULL WHERE status = 'settlement'")
    if op.get_bind().dialect.name == 'postgresql':
        op.execute(
            "UPDATE payments SET next_reconcile_at = paid_at + interval '1 day' "
            "WHERE status = 'settlement' AND paid_at > now() - interval '1 day'"
        )


def downgrade():
    op.drop_index('ix_payment_events_reconcile_received', table_name='payment_events')
    op.drop_index('ix_payments_reconcile_due', table_name='payments')
    op.drop_table('reconcile_days')
