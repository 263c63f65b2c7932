"""welcome messages: templates, channels (contact ways), one record per customer add, group joins

Revision ID: a06b4d2e3f54
Revises: 9e5a3c1f2d43
Create Date: 2026-11-23 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a06b4d2e3f54'
down_revision = '9e5a3c1f2d43'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('welcome_templates',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('scope', sa.String(length=16), nullable=False),
    sa.Column('userids', sa.JSON(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('attachments', sa.JSON(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_welcome_templates'))
    )
    with op.batch_alter_table('welcome_templates', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_welcome_templates_scope'), ['scope'], unique=False)

    op.create_table('welcome_channels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('config_id', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=30), nullable=True),
    sa.Column('type', sa.Integer(), nullable=False),
    sa.Column('userids', sa.JSON(), nullable=False),
    sa.Column('skip_verify', sa.Boolean(), nullable=False),
    sa.Column('qr_code', sa.String(length=512), nullable=False),
    sa.Column('tag_ids', sa.JSON(), nullable=False),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['template_id'], ['welcome_templates.id'],
                            name=op.f('fk_welcome_channels_template_id_welcome_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_welcome_channels')),
    sa.UniqueConstraint('config_id', name=op.f('uq_welcome_channels_config_id')),
    sa.UniqueConstraint('state', name=op.f('uq_welcome_channels_state'))
    )

    op.create_table('welcome_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('welcome_code', sa.String(length=128), nullable=True),
    sa.Column('userid', sa.String(length=64), nullable=False),
    sa.Column('external_userid', sa.String(length=64), nullable=False),
    sa.Column('state', sa.String(length=64), nullable=False),
    sa.Column('channel_id', sa.Integer(), nullable=True),
    sa.Column('template_id', sa.Integer(), nullable=True),
    sa.Column('template_scope', sa.String(length=16), nullable=True),
    sa.Column('outcome', sa.String(length=16), nullable=False),
    sa.Column('errcode', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=256), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('latency_ms', sa.Integer(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_welcome_records')),
    sa.UniqueConstraint('inbox_id', name=op.f('uq_welcome_records_inbox_id')),
    sa.UniqueConstraint('welcome_code', name=op.f('uq_welcome_records_welcome_code'))
    )
    with op.batch_alter_table('welcome_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_welcome_records_userid'), ['userid'], unique=False)
        batch_op.create_index(batch_op.f('ix_welcome_records_channel_id'), ['channel_id'], unique=False)
        batch_op.create_index('ix_welcome_records_received_at', ['received_at'], unique=False)

    op.create_table('welcome_group_joins',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('inbox_id', sa.Integer(), nullable=False),
    sa.Column('chat_id', sa.String(length=64), nullable=False),
    sa.Column('members', sa.Integer(), nullable=False),
    sa.Column('join_scene', sa.Integer(), nullable=True),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_welcome_group_joins')),
    sa.UniqueConstraint('inbox_id', name=op.f('uq_welcome_group_joins_inbox_id'))
    )
    with op.batch_alter_table('welcome_group_joins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_welcome_group_joins_chat_id'), ['chat_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_welcome_group_joins_joined_at'), ['joined_at'], unique=False)


def downgrade():
    with op.batch_alter_table('welcome_group_joins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_welcome_group_joins_joined_at'))
        batch_op.drop_index(batch_op.f('ix_welcome_group_joins_chat_id'))
    op.drop_table('welcome_group_joins')
    with op.batch_alter_table('welcome_records', schema=None) as batch_op:
        batch_op.drop_index('ix_welcome_records_received_at')
        batch_op.drop_index(batch_op.f('ix_welcome_records_channel_id'))
        batch_op.drop_index(batch_op.f('ix_welcome_records_userid'))
    op.drop_table('welcome_records')
    op.drop_table('welcome_channels')
    with op.batch_alter_table('welcome_templates', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_welcome_templates_scope'))
    op.drop_table('welcome_templates')
