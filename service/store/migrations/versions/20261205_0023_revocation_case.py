"""revocation cases (Art. 22): proposed on a ground, decided by the city

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-05 19:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0023'
down_revision = '0022'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'revocation_case',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('jurisdiction_code', sa.String(length=12), nullable=False),
        sa.Column('ground', sa.String(length=30), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('source_ref', sa.String(length=50), nullable=True),
        sa.Column('facts', sa.Text(), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('sponsor', sa.String(length=200), nullable=True),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('opened_by', sa.Integer(), nullable=True),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('opinion', sa.Text(), nullable=True),
        sa.Column('revocation_id', sa.Integer(), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['jurisdiction_code'], ['jurisdiction.code']),
        sa.ForeignKeyConstraint(['opened_by'], ['user_account.id']),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['revocation_id'], ['revocation.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_revocation_case_institution_id', 'revocation_case', ['institution_id'])
    op.create_index('ix_revocation_case_jurisdiction_code', 'revocation_case', ['jurisdiction_code'])
    op.create_index('ix_revocation_case_status', 'revocation_case', ['status'])


def downgrade() -> None:
    op.drop_table('revocation_case')
