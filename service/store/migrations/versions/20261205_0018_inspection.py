"""inspection (Art. 15.2, 17): inspectors appointed to batches and what they recorded

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-05 14:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0018'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'inspection',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('jurisdiction_code', sa.String(length=12), nullable=False),
        sa.Column('inspector_id', sa.Integer(), nullable=False),
        sa.Column('assigned_by', sa.Integer(), nullable=False),
        sa.Column('assigned_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('results', sa.JSON(), nullable=False),
        sa.Column('findings', sa.Text(), nullable=True),
        sa.Column('problems', sa.Integer(), nullable=False),
        sa.Column('handed_over', sa.Boolean(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['batch_id'], ['batch.id']),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['jurisdiction_code'], ['jurisdiction.code']),
        sa.ForeignKeyConstraint(['inspector_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['assigned_by'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_inspection_batch_id', 'inspection', ['batch_id'])
    op.create_index('ix_inspection_institution_id', 'inspection', ['institution_id'])
    op.create_index('ix_inspection_inspector_id', 'inspection', ['inspector_id'])


def downgrade() -> None:
    op.drop_table('inspection')
