"""webhook endpoint fairness and circuit breaker

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-03 19:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    # The endpoint's circuit breaker, on the endpoint row so every worker and the portal read
    # one state. Existing endpoints start closed (no failures counted). The per-endpoint limit
    # on attempts in flight needs no column: it counts leased deliveries, through the existing
    # (project_id, environment, status, …) index.
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.add_column(sa.Column('consecutive_failures', sa.Integer(), server_default='0', nullable=False))
        batch_op.add_column(sa.Column('failure_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('circuit_open_until', sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table('webhook_endpoints', schema=None) as batch_op:
        batch_op.drop_column('circuit_open_until')
        batch_op.drop_column('failure_kind')
        batch_op.drop_column('consecutive_failures')
