"""scope change (变更, Art. 7 动态调整): the request, its review and what was approved

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 15:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'scope_change',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('jurisdiction_code', sa.String(length=12), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('scope_before', sa.JSON(), nullable=False),
        sa.Column('requested_scope', sa.JSON(), nullable=False),
        sa.Column('approved_scope', sa.JSON(), nullable=True),
        sa.Column('opinion', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['jurisdiction_code'], ['jurisdiction.code']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_scope_change_institution_id', 'scope_change', ['institution_id'])
    op.create_index('ix_scope_change_jurisdiction_code', 'scope_change', ['jurisdiction_code'])
    op.create_index('ix_scope_change_status', 'scope_change', ['status'])


def downgrade() -> None:
    op.drop_index('ix_scope_change_status', table_name='scope_change')
    op.drop_index('ix_scope_change_jurisdiction_code', table_name='scope_change')
    op.drop_index('ix_scope_change_institution_id', table_name='scope_change')
    op.drop_table('scope_change')
