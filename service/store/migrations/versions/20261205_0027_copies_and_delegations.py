"""抄送 (a case copied to someone for their information) and 委托 (a user's tasks delegated to a
colleague for a period), issue 17

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-05 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0027'
down_revision = '0026'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_copy',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('instance_id', sa.Integer(), sa.ForeignKey('process_instance.id'), nullable=False),
        sa.Column('task_title', sa.String(length=100), nullable=False),
        sa.Column('user_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=False),
        sa.Column('by_user_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=False),
        sa.Column('note', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
    )
    op.create_index('ix_case_copy_user', 'case_copy', ['user_id', 'id'])
    op.create_table(
        'delegation',
        sa.Column('id', sa.Integer(), primary_key=True),
        sa.Column('from_user_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=False),
        sa.Column('to_user_id', sa.Integer(), sa.ForeignKey('user_account.id'), nullable=False),
        sa.Column('starts_on', sa.Date(), nullable=False),
        sa.Column('ends_on', sa.Date(), nullable=False),
        sa.Column('reason', sa.String(length=200), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('ended_at', sa.DateTime(), nullable=True),
    )
    op.create_index('ix_delegation_to', 'delegation', ['to_user_id', 'ends_on'])
    op.create_index('ix_delegation_from', 'delegation', ['from_user_id', 'ends_on'])


def downgrade() -> None:
    op.drop_table('delegation')
    op.drop_table('case_copy')
