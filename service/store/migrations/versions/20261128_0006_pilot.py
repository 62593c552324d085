"""pilot: revocations (why a filing ended) and filings in other cities (Art. 7)

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'revocation',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('ground', sa.String(length=30), nullable=False),
        sa.Column('reason', sa.Text(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('decided_by', sa.Integer(), nullable=True),
        sa.Column('decided_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['decided_by'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_revocation_institution_id', 'revocation', ['institution_id'])
    op.create_table(
        'other_city_filing',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('city', sa.String(length=50), nullable=False),
        sa.Column('filing_code', sa.String(length=50), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=False),
        sa.Column('attachment_id', sa.Integer(), nullable=True),
        sa.Column('recorded_by', sa.Integer(), nullable=False),
        sa.Column('recorded_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['attachment_id'], ['attachment.id']),
        sa.ForeignKeyConstraint(['recorded_by'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_other_city_filing_institution_id', 'other_city_filing', ['institution_id'])


def downgrade() -> None:
    op.drop_index('ix_other_city_filing_institution_id', table_name='other_city_filing')
    op.drop_table('other_city_filing')
    op.drop_index('ix_revocation_institution_id', table_name='revocation')
    op.drop_table('revocation')
