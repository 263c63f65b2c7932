"""customer facts: what segment conditions ask of each customer in one row, kept by triggers on PostgreSQL

Revision ID: 5e8b1d3f7a20
Revises: 27b3d5f7a9c2
Create Date: 2026-11-23 22:40:00

On PostgreSQL (14 or later) this installs the triggers of app/segments/facts.py as that module defined them at
this revision (copied here: a revision never imports application code, which changes after it), and notes every
customer as changed: the worker fills their facts after the upgrade, and until it has, segment
counts read the source tables as before. On SQLite the tables stay empty (segments read the source tables).
"""
from alembic import op
import sqlalchemy as sa

# table -> the column that holds the customer's external_userid
SOURCES = {"customers": "external_userid", "follow_relations": "external_userid", "orders": "external_userid",
           "customer_group_members": "userid", "customer_events": "external_userid"}
TRANSITIONS = {"insert": "NEW TABLE AS new_rows", "delete": "OLD TABLE AS old_rows",
               "update": "OLD TABLE AS old_rows NEW TABLE AS new_rows"}
MARK_FUNCTION = """
CREATE OR REPLACE FUNCTION customer_facts_note_{table}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO customer_facts_changes (external_userid)
        SELECT DISTINCT {column} FROM new_rows WHERE {column} IS NOT NULL;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO customer_facts_changes (external_userid)
        SELECT DISTINCT {column} FROM old_rows WHERE {column} IS NOT NULL;
    ELSE
        INSERT INTO customer_facts_changes (external_userid)
        SELECT {column} FROM new_rows WHERE {column} IS NOT NULL
        UNION SELECT {column} FROM old_rows WHERE {column} IS NOT NULL;
    END IF;
    RETURN NULL;
END $$
"""
TRIGGER = """
CREATE OR REPLACE TRIGGER customer_facts_{event}_{table} AFTER {event} ON {table}
REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION customer_facts_note_{table}()
"""


# revision identifiers, used by Alembic.
revision = '5e8b1d3f7a20'
down_revision = '27b3d5f7a9c2'
branch_labels = None
depends_on = None


def _array(item):
    return sa.ARRAY(item).with_variant(sa.JSON(), 'sqlite')


def upgrade():
    op.create_table('customer_facts',
        sa.Column('customer_id', sa.Integer(), autoincrement=False, nullable=False),
        sa.Column('external_userid', sa.String(length=64), nullable=False),
        sa.Column('lost', sa.Boolean(), nullable=False),
        sa.Column('first_added_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('staff', _array(sa.String(length=64)), nullable=True),
        sa.Column('tag_ids', _array(sa.String(length=64)), nullable=True),
        sa.Column('chat_ids', _array(sa.String(length=64)), nullable=True),
        sa.Column('states', sa.Text(), nullable=True),
        sa.Column('last_activity_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('paid_times', _array(sa.BigInteger()), nullable=True),
        sa.Column('paid_cum_fen', _array(sa.BigInteger()), nullable=True),
        sa.ForeignKeyConstraint(['customer_id'], ['customers.id'], name=op.f('fk_customer_facts_customer_id_customers'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('customer_id', name=op.f('pk_customer_facts')),
        sa.UniqueConstraint('external_userid', name=op.f('uq_customer_facts_external_userid'))
    )
    op.create_table('customer_facts_changes',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
        sa.Column('external_userid', sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_customer_facts_changes'))
    )
    op.create_index(op.f('ix_customer_facts_changes_external_userid'), 'customer_facts_changes', ['external_userid'])
    for column in ('staff', 'tag_ids', 'chat_ids'):
        op.create_index(f'ix_customer_facts_{column}', 'customer_facts', [column], postgresql_using='gin')
    op.create_index('ix_customer_facts_states_trgm', 'customer_facts', ['states'], postgresql_using='gin',
                    postgresql_ops={'states': 'gin_trgm_ops'})
    bind = op.get_bind()
    if bind.dialect.name != 'postgresql':
        return
    for table, column in SOURCES.items():
        bind.exec_driver_sql(MARK_FUNCTION.format(table=table, column=column))
        for event, transition in TRANSITIONS.items():
            bind.exec_driver_sql(TRIGGER.format(event=event, table=table, transition=transition))
    bind.exec_driver_sql("INSERT INTO customer_facts_changes (external_userid) SELECT external_userid FROM customers")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        for table in SOURCES:
            for event in TRANSITIONS:
                bind.exec_driver_sql(f"DROP TRIGGER IF EXISTS customer_facts_{event}_{table} ON {table}")
            bind.exec_driver_sql(f"DROP FUNCTION IF EXISTS customer_facts_note_{table}()")
    op.drop_table('customer_facts_changes')
    op.drop_table('customer_facts')
