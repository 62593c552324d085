"""spot checks (Art. 21 双随机、一公开): reproducible draws and the checks they assign

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-05 18:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0022'
down_revision = '0021'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'spot_check_plan',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('jurisdiction_code', sa.String(length=12), nullable=True),
        sa.Column('kind', sa.String(length=20), nullable=True),
        sa.Column('occupation_code', sa.String(length=20), nullable=True),
        sa.Column('rate', sa.Integer(), nullable=True),
        sa.Column('count', sa.Integer(), nullable=True),
        sa.Column('exclude_own', sa.Boolean(), nullable=False),
        sa.Column('seed', sa.String(length=64), nullable=False),
        sa.Column('population', sa.JSON(), nullable=False),
        sa.Column('pool', sa.JSON(), nullable=False),
        sa.Column('pairs', sa.JSON(), nullable=False),
        sa.Column('drawn_by', sa.Integer(), nullable=True),
        sa.Column('drawn_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['jurisdiction_code'], ['jurisdiction.code']),
        sa.ForeignKeyConstraint(['drawn_by'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_table(
        'spot_check',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('plan_id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('inspector_id', sa.Integer(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('results', sa.JSON(), nullable=False),
        sa.Column('findings', sa.Text(), nullable=True),
        sa.Column('problems', sa.Integer(), nullable=False),
        sa.Column('handed_over', sa.Boolean(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['plan_id'], ['spot_check_plan.id']),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['inspector_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_spot_check_plan_id', 'spot_check', ['plan_id'])
    op.create_index('ix_spot_check_institution_id', 'spot_check', ['institution_id'])
    op.create_index('ix_spot_check_inspector_id', 'spot_check', ['inspector_id'])


def downgrade() -> None:
    op.drop_table('spot_check')
    op.drop_table('spot_check_plan')
