"""status notices: PostgreSQL tells every web process which payment changed (NOTIFY)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-07 08:30:00.000000

app/services/checkout/status_cache.py keeps verify's rows in memory and drops them on these
notices. A payment's change names its purchase_id and order_id; a change to what a payment's
view shows from its project or credential, and any TRUNCATE, says "*" (forget everything).
The notice is sent when the transaction commits, and only then. SQLite has no NOTIFY: nothing
to do there (and no cache).
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None

CHANNEL = 'lunas_payments'


def upgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    op.execute(f"""
        CREATE FUNCTION lunas_payment_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP <> 'INSERT' THEN
                PERFORM pg_notify('{CHANNEL}', json_build_array(OLD.purchase_id, OLD.order_id)::text);
            END IF;
            IF TG_OP = 'UPDATE' AND (OLD.purchase_id, OLD.order_id)
                    IS DISTINCT FROM (NEW.purchase_id, NEW.order_id) THEN
                PERFORM pg_notify('{CHANNEL}', json_build_array(NEW.purchase_id, NEW.order_id)::text);
            END IF;
            RETURN NULL;
        END $$
    """)
    op.execute(f"""
        CREATE FUNCTION lunas_everything_changed() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('{CHANNEL}', '*');
            RETURN NULL;
        END $$
    """)
    # No notice on INSERT: only lookups that found rows are kept, and a new row could join
    # a kept answer only by repeating an order id unique in its project environment, or by a
    # random new purchase_id equal to a kept merchant order id. A checkout's payment is
    # inserted as `creating`, which no lookup shows, and shown by an UPDATE, which notifies.
    op.execute("""
        CREATE TRIGGER payments_changed AFTER UPDATE ON payments FOR EACH ROW
        WHEN (OLD.* IS DISTINCT FROM NEW.*) EXECUTE FUNCTION lunas_payment_changed()
    """)
    op.execute("""
        CREATE TRIGGER payments_deleted AFTER DELETE ON payments FOR EACH ROW
        EXECUTE FUNCTION lunas_payment_changed()
    """)
    op.execute("""
        CREATE TRIGGER projects_changed AFTER UPDATE ON projects FOR EACH ROW
        WHEN ((OLD.name, OLD.store_url_template) IS DISTINCT FROM (NEW.name, NEW.store_url_template))
        EXECUTE FUNCTION lunas_everything_changed()
    """)
    op.execute("""
        CREATE TRIGGER api_clients_changed AFTER UPDATE ON api_clients FOR EACH ROW
        WHEN ((OLD.client_id, OLD.project_id, OLD.environment)
              IS DISTINCT FROM (NEW.client_id, NEW.project_id, NEW.environment))
        EXECUTE FUNCTION lunas_everything_changed()
    """)
    for table in ('payments', 'projects', 'api_clients'):
        op.execute(f"""
            CREATE TRIGGER {table}_emptied AFTER TRUNCATE ON {table} FOR EACH STATEMENT
            EXECUTE FUNCTION lunas_everything_changed()
        """)
    for table in ('projects', 'api_clients'):
        op.execute(f"""
            CREATE TRIGGER {table}_deleted AFTER DELETE ON {table} FOR EACH STATEMENT
            EXECUTE FUNCTION lunas_everything_changed()
        """)


def downgrade():
    if op.get_bind().dialect.name != 'postgresql':
        return
    for trigger, table in (
        ('payments_changed', 'payments'), ('payments_deleted', 'payments'),
        ('projects_changed', 'projects'), ('api_clients_changed', 'api_clients'),
        ('payments_emptied', 'payments'), ('projects_emptied', 'projects'),
        ('api_clients_emptied', 'api_clients'), ('projects_deleted', 'projects'),
        ('api_clients_deleted', 'api_clients'),
    ):
        op.execute(f'DROP TRIGGER {trigger} ON {table}')
    op.execute('DROP FUNCTION lunas_payment_changed()')
    op.execute('DROP FUNCTION lunas_everything_changed()')
