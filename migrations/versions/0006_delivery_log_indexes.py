"""delivery log indexes

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-01 21:30:00.000000

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

# The portal's delivery log pages by keyset on (created_at, id) within one project
# environment, optionally of one status ("failed", also "resend all failed since"). Without
# these, each page was a scan of every tenant's deliveries and a sort.
INDEXES = [
    ('ix_webhook_deliveries_project_env_created',
     ['project_id', 'environment', 'created_at', 'id']),
    ('ix_webhook_deliveries_project_env_status_created',
     ['project_id', 'environment', 'status', 'created_at', 'id']),
]


def upgrade():
    if op.get_context().dialect.name == 'postgresql':
        # CONCURRENTLY: deliveries are written by every settlement; building must not block it.
        with op.get_context().autocommit_block():
            for name, columns in INDEXES:
                op.create_index(name, 'webhook_deliveries', columns, postgresql_concurrently=True)
        return
    for name, columns in INDEXES:
        op.create_index(name, 'webhook_deliveries', columns)


def downgrade():
    for name, _ in reversed(INDEXES):
        op.drop_index(name, table_name='webhook_deliveries')
