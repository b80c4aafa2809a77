"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-22 01:04:36.746740

"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

# SQLite only autoincrements INTEGER PRIMARY KEY; PostgreSQL gets bigint.
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

# revision identifiers, used by Alembic.
revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('simulator_transactions',
    sa.Column('order_id', sa.String(length=50), nullable=False),
    sa.Column('token', sa.String(length=36), nullable=False),
    sa.Column('server_key', sa.String(length=100), nullable=False),
    sa.Column('gross_amount', sa.BigInteger(), nullable=False),
    sa.Column('transaction_status', sa.String(length=32), nullable=True),
    sa.Column('fraud_status', sa.String(length=32), nullable=True),
    sa.Column('payment_type', sa.String(length=32), nullable=True),
    sa.Column('transaction_id', sa.String(length=36), nullable=True),
    sa.Column('transaction_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('settlement_time', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notification_urls', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('finish_url', sa.String(length=255), nullable=True),
    sa.Column('request', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('order_id', name=op.f('pk_simulator_transactions')),
    sa.UniqueConstraint('token', name=op.f('uq_simulator_transactions_token'))
    )
    op.create_table('users',
    sa.Column('id', BigId, nullable=False),
    sa.Column('email', sa.String(length=254), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email'))
    )
    op.create_table('projects',
    sa.Column('id', sa.String(length=40), nullable=False),
    sa.Column('owner_id', BigId, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('store_url_template', sa.String(length=500), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_projects_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_projects'))
    )
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_projects_owner_id'), ['owner_id'], unique=False)

    op.create_table('api_clients',
    sa.Column('id', BigId, nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('client_id', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_api_clients_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_api_clients')),
    sa.UniqueConstraint('client_id', name=op.f('uq_api_clients_client_id')),
    sa.UniqueConstraint('project_id', 'environment', name=op.f('uq_api_clients_project_id_environment'))
    )
    op.create_table('payments',
    sa.Column('id', BigId, nullable=False),
    sa.Column('purchase_id', sa.String(length=64), nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('order_id', sa.String(length=50), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('buyer_email', sa.String(length=254), nullable=False),
    sa.Column('buyer_name', sa.String(length=100), nullable=True),
    sa.Column('item_name', sa.String(length=200), nullable=True),
    sa.Column('metadata', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('snap_token', sa.String(length=100), nullable=True),
    sa.Column('snap_redirect_url', sa.String(length=500), nullable=True),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('paid_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('paid_amount', sa.String(length=32), nullable=True),
    sa.Column('next_reconcile_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('refunded_amount', sa.String(length=32), nullable=True),
    sa.Column('midtrans_transaction_id', sa.String(length=64), nullable=True),
    sa.Column('midtrans_transaction_status', sa.String(length=32), nullable=True),
    sa.Column('midtrans_fraud_status', sa.String(length=32), nullable=True),
    sa.Column('midtrans_payment_type', sa.String(length=32), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_payments_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payments')),
    sa.UniqueConstraint('project_id', 'environment', 'order_id', name=op.f('uq_payments_project_id_environment_order_id')),
    sa.UniqueConstraint('purchase_id', name=op.f('uq_payments_purchase_id'))
    )
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payments_midtrans_transaction_id'), ['midtrans_transaction_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_payments_order_id'), ['order_id'], unique=False)
        batch_op.create_index('ix_payments_status_expires_at', ['status', 'expires_at'], unique=False)

    op.create_table('webhook_endpoints',
    sa.Column('id', BigId, nullable=False),
    sa.Column('project_id', sa.String(length=40), nullable=False),
    sa.Column('environment', sa.String(length=16), nullable=False),
    sa.Column('url', sa.String(length=2000), nullable=True),
    sa.Column('secret_ciphertext', sa.String(length=500), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['project_id'], ['projects.id'], name=op.f('fk_webhook_endpoints_project_id_projects')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_endpoints')),
    sa.UniqueConstraint('project_id', 'environment', name=op.f('uq_webhook_endpoints_project_id_environment'))
    )
    op.create_table('client_secrets',
    sa.Column('id', BigId, nullable=False),
    sa.Column('api_client_id', BigId, nullable=False),
    sa.Column('secret_hash', sa.String(length=64), nullable=False),
    sa.Column('hint', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['api_client_id'], ['api_clients.id'], name=op.f('fk_client_secrets_api_client_id_api_clients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_client_secrets'))
    )
    with op.batch_alter_table('client_secrets', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_client_secrets_api_client_id'), ['api_client_id'], unique=False)

    op.create_table('payment_events',
    sa.Column('id', BigId, nullable=False),
    sa.Column('payment_id', BigId, nullable=True),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('raw_body', sa.Text(), nullable=False),
    sa.Column('headers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('remote_addr', sa.String(length=64), nullable=True),
    sa.Column('transaction_status', sa.String(length=32), nullable=True),
    sa.Column('outcome', sa.String(length=24), nullable=False),
    sa.Column('detail', sa.String(length=500), nullable=True),
    sa.Column('http_status', sa.Integer(), nullable=True),
    sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_events_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_events'))
    )
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_events_payment_id'), ['payment_id'], unique=False)

    op.create_table('payment_status_changes',
    sa.Column('id', BigId, nullable=False),
    sa.Column('payment_id', BigId, nullable=False),
    sa.Column('event_id', BigId, nullable=True),
    sa.Column('from_status', sa.String(length=20), nullable=False),
    sa.Column('to_status', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['event_id'], ['payment_events.id'], name=op.f('fk_payment_status_changes_event_id_payment_events')),
    sa.ForeignKeyConstraint(['payment_id'], ['payments.id'], name=op.f('fk_payment_status_changes_payment_id_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_payment_status_changes'))
    )
    with op.batch_alter_table('payment_status_changes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_payment_status_changes_payment_id'), ['payment_id'], unique=False)



def downgrade():
    with op.batch_alter_table('payment_status_changes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_status_changes_payment_id'))

    op.drop_table('payment_status_changes')
    with op.batch_alter_table('payment_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_payment_events_payment_id'))

    op.drop_table('payment_events')
    with op.batch_alter_table('client_secrets', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_client_secrets_api_client_id'))

    op.drop_table('client_secrets')
    op.drop_table('webhook_endpoints')
    with op.batch_alter_table('payments', schema=None) as batch_op:
        batch_op.drop_index('ix_payments_status_expires_at')
        batch_op.drop_index(batch_op.f('ix_payments_order_id'))
        batch_op.drop_index(batch_op.f('ix_payments_midtrans_transaction_id'))

    op.drop_table('payments')
    op.drop_table('api_clients')
    with op.batch_alter_table('projects', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_projects_owner_id'))

    op.drop_table('projects')
    op.drop_table('users')
    op.drop_table('simulator_transactions')
