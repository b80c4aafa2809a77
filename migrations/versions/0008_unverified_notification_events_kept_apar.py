"""unverified notification events kept apart

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-03 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

INDEX = 'ix_payment_events_unverified_received'
UNVERIFIED = sa.text('payment_id IS NULL')

# Events that were put on a payment's timeline although their signature never verified: a
# forged signature (answered 403), or no server key to check it with. They leave the
# merchant's timeline and keep, for the operator, the purchase id they were filed under.
# ("rejected" answered 400 is a correctly signed notification whose status_code did not fit
# its status: Midtrans did sign it, so it stays on its payment.)
DETACH_UNVERIFIED = sa.text(
    "UPDATE payment_events"
    " SET claimed_order_id = ("
    "   SELECT payments.purchase_id FROM payments WHERE payments.id = payment_events.payment_id"
    " ), payment_id = NULL"
    " WHERE payment_id IS NOT NULL"
    " AND ((outcome = 'rejected' AND http_status = 403) OR outcome = 'unavailable')"
)


def upgrade():
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('claimed_order_id', sa.String(length=64), nullable=True))
    op.execute(DETACH_UNVERIFIED)
    if op.get_context().dialect.name == 'postgresql':
        # CONCURRENTLY: notifications keep being stored while the index is built.
        with op.get_context().autocommit_block():
            op.create_index(
                INDEX, 'payment_events', ['received_at', 'id'],
                postgresql_where=UNVERIFIED, postgresql_concurrently=True,
            )
        return
    op.create_index(INDEX, 'payment_events', ['received_at', 'id'], sqlite_where=UNVERIFIED)


def downgrade():
    # Detached events stay detached: the code before this revision showed a payment's events
    # by payment_id alone, so they stay off every timeline there too.
    op.drop_index(INDEX, table_name='payment_events')
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.drop_column('claimed_order_id')
