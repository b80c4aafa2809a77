"""payment day totals

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:30:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    # The overview's closed WIB days, stored once computed (app/services/day_totals.py). A new
    # table: nothing to backfill, the first overview of each project environment fills it.
    op.create_table('payment_day_totals',
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('created', sa.Integer(), nullable=False),
    sa.Column('paid', sa.Integer(), nullable=False),
    sa.Column('revenue', sa.BigInteger(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('valid', sa.Boolean(), nullable=False),
    sa.Column('computed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_payment_day_totals_project_id_projects')),
    sa.PrimaryKeyConstraint('project_id', 'environment', 'day', name=op.f('pk_payment_day_totals'))
    )


def downgrade():
    op.drop_table('payment_day_totals')
