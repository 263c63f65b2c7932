"""Contact list search indexes: trigram GIN indexes (pg_trgm) on customer name, corp name and relation remark

Revision ID: 01e7e84b502b
Revises: 44392e8366eb
Create Date: 2026-11-23 13:26:59.860307

On SQLite these are plain indexes. On PostgreSQL pg_trgm is a trusted extension (13+): the database owner may
create it.
"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '01e7e84b502b'
down_revision = '44392e8366eb'
branch_labels = None
depends_on = None

TRIGRAM_INDEXES = (("customers", "ix_customers_name_trgm", "name"),
                   ("customers", "ix_customers_corp_name_trgm", "corp_name"),
                   ("follow_relations", "ix_follow_relations_remark_trgm", "remark"))


def upgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, name, column in TRIGRAM_INDEXES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(name, [column], unique=False, postgresql_using='gin',
                                  postgresql_ops={column: 'gin_trgm_ops'})


def downgrade():
    for table, name, _column in reversed(TRIGRAM_INDEXES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(name)
