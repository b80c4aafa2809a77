"""item images and deliveries: uploaded files, the delivery of an item, the buyer's links

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 17:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def upgrade():
    op.create_table('media_files',
    sa.Column('id', _ID, nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('purpose', sa.String(length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('size', sa.BigInteger(), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_media_files_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_media_files')),
    sa.UniqueConstraint('key', name=op.f('uq_media_files_key'))
    )
    op.create_index(op.f('ix_media_files_project_id'), 'media_files', ['project_id'], unique=False)

    # Plain ADD COLUMNs, as 0014 did for payments: payments reference items, so SQLite must
    # not copy and drop the items table; there the foreign keys go inline.
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for column in ('image_ref', 'delivery_file_ref'):
        if sqlite:
            op.execute(
                f'ALTER TABLE items ADD COLUMN {column} INTEGER '
                f'CONSTRAINT fk_items_{column}_media_files REFERENCES media_files (id)'
            )
        else:
            op.add_column('items', sa.Column(column, _ID, nullable=True))
            op.create_foreign_key(
                op.f(f'fk_items_{column}_media_files'), 'items', 'media_files', [column], ['id']
            )
    op.add_column('items', sa.Column('delivery_type', sa.String(length=16), nullable=True))
    op.add_column('items', sa.Column('delivery_content', sa.Text(), nullable=True))

    op.create_table('delivery_links',
    sa.Column('id', _ID, nullable=False),
    sa.Column('payment_id', _ID, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('downloads', sa.Integer(), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_delivery_links_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_delivery_links'))
    )
    op.create_index(op.f('ix_delivery_links_payment_id'), 'delivery_links', ['payment_id'], unique=False)


def downgrade():
    op.drop_index(op.f('ix_delivery_links_payment_id'), table_name='delivery_links')
    op.drop_table('delivery_links')
    sqlite = op.get_bind().dialect.name == 'sqlite'
    for column in ('image_ref', 'delivery_file_ref'):
        if not sqlite:
            op.drop_constraint(op.f(f'fk_items_{column}_media_files'), 'items', type_='foreignkey')
    for column in ('delivery_content', 'delivery_type', 'delivery_file_ref', 'image_ref'):
        op.drop_column('items', column)
    op.drop_index(op.f('ix_media_files_project_id'), table_name='media_files')
    op.drop_table('media_files')
