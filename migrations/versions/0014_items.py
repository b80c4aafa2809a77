"""items: the catalog Lunas keeps, and the item checkout's columns on payments

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 13:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('items',
    sa.Column('id', _ID, nullable=False),
    sa.Column('item_id', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('price_mode', sa.String(length=16), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=True),
    sa.Column('min_amount', sa.BigInteger(), nullable=True),
    sa.Column('max_amount', sa.BigInteger(), nullable=True),
    sa.Column('allow_price_override', sa.Boolean(), nullable=False),
    sa.Column('slug', sa.String(length=64), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('archived_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('stock', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_items_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_items')),
    sa.UniqueConstraint('item_id', name=op.f('uq_items_item_id')),
    sa.UniqueConstraint('slug', name=op.f('uq_items_slug'))
    )
    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.create_index('ix_items_project_env_created', ['project_id', 'environment', 'created_at', 'id'], unique=False)

    # Plain ADD COLUMNs: SQLite then alters payments in place instead of copying the table
    # (which would lose its expression index); there the foreign key goes inline.
    if op.get_bind().dialect.name == 'sqlite':
        op.execute(
            'ALTER TABLE payments ADD COLUMN item_ref INTEGER '
            'CONSTRAINT fk_payments_item_ref_items REFERENCES items (id)'
        )
    else:
        op.add_column('payments', sa.Column('item_ref', _ID, nullable=True))
        op.create_foreign_key(
            op.f('fk_payments_item_ref_items'), 'payments', 'items', ['item_ref'], ['id']
        )
    op.add_column('payments', sa.Column('quantity', sa.Integer(), server_default='1', nullable=False))
    op.add_column('payments', sa.Column('stock_held', sa.Integer(), server_default='0', nullable=False))
    op.create_index(op.f('ix_payments_item_ref'), 'payments', ['item_ref'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_payments_item_ref'), table_name='payments')
    if op.get_bind().dialect.name != 'sqlite':
        op.drop_constraint(op.f('fk_payments_item_ref_items'), 'payments', type_='foreignkey')
    # SQLite 3.35+ drops a plain column in place (a referencing one too, once no index uses it).
    for column in ('stock_held', 'quantity', 'item_ref'):
        op.drop_column('payments', column)

    with op.batch_alter_table('items', schema=None) as batch_op:
        batch_op.drop_index('ix_items_project_env_created')

    op.drop_table('items')
