"""refunds, cancel, fulfilment, event subscriptions

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04 13:19:28.966297

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# revision identifiers, used by Alembic.
revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

PAID = sa.text("paid_at IS NOT NULL AND status IN ('settlement', 'refund', 'partial_refund')")


def _paid_index(include):
    op.create_index(
        'ix_payments_project_env_paid',
        'payments',
        ['project_id', 'environment', 'paid_at'],
        postgresql_include=include,
        postgresql_where=PAID,
        sqlite_where=PAID,
    )


def upgrade():
    op.create_table('refunds',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=255), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('failure_message', sa.String(length=500), nullable=True),
    sa.Column('requested_by', sa.String(length=300), nullable=False),
    sa.Column('midtrans_refund_id', sa.String(length=64), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_check_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_refunds_payment_id_payments')),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_refunds_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_refunds'))
    )
    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.create_index('ix_refunds_payment_created', ['payment_id', 'created_at'], unique=False)
        batch_op.create_index('ix_refunds_status_next_check', ['status', 'next_check_at'], unique=False)

    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refunded', sa.BigInteger(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('cancelled_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('fulfilment_status', sa.String(length=16), server_default='unfulfilled', nullable=False))
        batch_op.add_column(sa.Column('fulfilled_at', sa.DateTime(timezone=True), nullable=True))
    # Refunds Midtrans reported before: their text figure ("25000.00") in whole Rupiah.
    whole = "CAST(CAST(refunded_amount AS NUMERIC) AS BIGINT)"
    if op.get_bind().dialect.name == "sqlite":
        whole = "CAST(refunded_amount AS INTEGER)"
    op.execute(f"UPDATE payments SET refunded = {whole} WHERE refunded_amount IS NOT NULL")
    # The statistics' paid figures, refunds and payment types: index-only on PostgreSQL.
    op.drop_index('ix_payments_project_env_paid', table_name='payments')
    _paid_index(['amount', 'refunded', 'midtrans_payment_type'])

    with op.batch_alter_table('simulator_transactions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('refunds', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))

    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('events', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True))



def downgrade():
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_column('events')

    with op.batch_alter_table('simulator_transactions', schema=None) as batch_op:
        batch_op.drop_column('refunds')

    op.drop_index('ix_payments_project_env_paid', table_name='payments')
    _paid_index(['amount'])
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_column('fulfilled_at')
        batch_op.drop_column('fulfilment_status')
        batch_op.drop_column('cancelled_at')
        batch_op.drop_column('refunded')

    with op.batch_alter_table('refunds', schema=None) as batch_op:
        batch_op.drop_index('ix_refunds_status_next_check')
        batch_op.drop_index('ix_refunds_payment_created')

    op.drop_table('refunds')
