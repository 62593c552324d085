"""supervision (Art. 17-21): cases, the measures the city decides, rectifications

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-05 17:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0021'
down_revision = '0020'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'supervision_case',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('jurisdiction_code', sa.String(length=12), nullable=False),
        sa.Column('source', sa.String(length=20), nullable=False),
        sa.Column('source_ref', sa.String(length=50), nullable=True),
        sa.Column('facts', sa.Text(), nullable=False),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('opened_at', sa.DateTime(), nullable=False),
        sa.Column('opened_by', sa.Integer(), nullable=True),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('violation', sa.String(length=20), nullable=True),
        sa.Column('severity', sa.String(length=10), nullable=True),
        sa.Column('closed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['jurisdiction_code'], ['jurisdiction.code']),
        sa.ForeignKeyConstraint(['opened_by'], ['user_account.id']),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_supervision_case_institution_id', 'supervision_case', ['institution_id'])
    op.create_index('ix_supervision_case_jurisdiction_code', 'supervision_case', ['jurisdiction_code'])
    op.create_index('ix_supervision_case_status', 'supervision_case', ['status'])
    op.create_table(
        'measure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('proposed_kind', sa.String(length=20), nullable=True),
        sa.Column('matter', sa.String(length=300), nullable=False),
        sa.Column('reason', sa.Text(), nullable=True),
        sa.Column('opinion', sa.Text(), nullable=False),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('effective_from', sa.Date(), nullable=False),
        sa.Column('ended_on', sa.Date(), nullable=True),
        sa.Column('deadline', sa.Date(), nullable=True),
        sa.Column('status_before', sa.String(length=20), nullable=True),
        sa.Column('details', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(['case_id'], ['supervision_case.id']),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['decided_by'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_measure_case_id', 'measure', ['case_id'])
    op.create_index('ix_measure_institution_id', 'measure', ['institution_id'])
    op.create_index('ix_measure_status', 'measure', ['status'])
    op.create_table(
        'rectification',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('origin', sa.String(length=30), nullable=False),
        sa.Column('matter', sa.Text(), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('report', sa.Text(), nullable=True),
        sa.Column('evidence', sa.JSON(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(), nullable=True),
        sa.Column('verified_by', sa.Integer(), nullable=True),
        sa.Column('verified_at', sa.DateTime(), nullable=True),
        sa.Column('verification', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['verified_by'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_rectification_institution_id', 'rectification', ['institution_id'])
    op.create_index('ix_rectification_status', 'rectification', ['status'])


def downgrade() -> None:
    op.drop_table('rectification')
    op.drop_table('measure')
    op.drop_table('supervision_case')
