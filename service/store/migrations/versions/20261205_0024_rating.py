"""annual rating (Art. 21): ratings per institution, year and round; the current stars on the institution

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-05 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0024'
down_revision = '0023'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('institution') as table:
        table.add_column(sa.Column('stars', sa.Integer(), nullable=True))
        table.add_column(sa.Column('stars_year', sa.Integer(), nullable=True))
    op.create_table(
        'rating',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('round', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('indicators', sa.JSON(), nullable=False),
        sa.Column('total', sa.String(length=10), nullable=True),
        sa.Column('stars', sa.Integer(), nullable=True),
        sa.Column('suggested_stars', sa.Integer(), nullable=True),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('confirmed_by', sa.Integer(), nullable=True),
        sa.Column('confirmed_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['confirmed_by'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('institution_id', 'year', 'round'),
    )
    op.create_index('ix_rating_institution_id', 'rating', ['institution_id'])


def downgrade() -> None:
    op.drop_table('rating')
    with op.batch_alter_table('institution') as table:
        table.drop_column('stars_year')
        table.drop_column('stars')
