"""scheduled_start: the occurrences of process schedules (timer start events' timeCycle) and the
cases they started, one row per occurrence (its unique key makes the start exactly-once)

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-05 11:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'scheduled_start',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('process_id', sa.String(length=100), nullable=False),
        sa.Column('occurrence', sa.DateTime(), nullable=False),
        sa.Column('started_at', sa.DateTime(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=True),
        sa.Column('error', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('process_id', 'occurrence', name='uq_scheduled_start_occurrence'),
    )


def downgrade() -> None:
    op.drop_table('scheduled_start')
