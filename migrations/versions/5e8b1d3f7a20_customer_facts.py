"""customer facts: what segment conditions ask of each customer in one row, kept by triggers on PostgreSQL

Revision ID: 5e8b1d3f7a20
Revises: 27b3d5f7a9c2
Create Date: 2026-11-23 22:40:00

On PostgreSQL (14 or later) this installs the triggers of app/segments/facts.py as that module defines them,
and notes every customer as changed: the worker fills their facts after the upgrade, and until it has, segment
counts read the source tables as before. On SQLite the tables stay empty (segments read the source tables).
"""
from alembic import op
import sqlalchemy as sa

from app.segments import facts


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
    for statement in facts.install_statements():
        bind.exec_driver_sql(statement)
    bind.exec_driver_sql("INSERT INTO customer_facts_changes (external_userid) SELECT external_userid FROM customers")


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == 'postgresql':
        for statement in facts.uninstall_statements():
            bind.exec_driver_sql(statement)
    op.drop_table('customer_facts_changes')
    op.drop_table('customer_facts')
