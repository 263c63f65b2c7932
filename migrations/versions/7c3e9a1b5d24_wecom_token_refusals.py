"""wecom token refusals: gettoken refused the Secret or blocked the IP, shown to every process

Revision ID: 7c3e9a1b5d24
Revises: 5e8b1d3f7a20
Create Date: 2026-12-05 08:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '7c3e9a1b5d24'
down_revision = '5e8b1d3f7a20'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wecom_token_refusals',
    sa.Column('credentials_id', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('since', sa.DateTime(timezone=True), nullable=False),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('retry_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('credentials_id', name=op.f('pk_wecom_token_refusals'))
    )


def downgrade():
    op.drop_table('wecom_token_refusals')
