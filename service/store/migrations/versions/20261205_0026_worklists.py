"""worklists (issue 17): who started a case (我发起的), and what a user completed (已办) read by actor

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-05 20:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0026'
down_revision = '0025'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('process_instance') as table:
        table.add_column(sa.Column('started_by', sa.Integer(), nullable=True))
        table.create_foreign_key('fk_instance_started_by', 'user_account', ['started_by'], ['id'])
    op.create_index('ix_instance_started_by', 'process_instance', ['started_by', 'id'])
    op.create_index('ix_audit_actor', 'audit_event', ['actor_id', 'action', 'id'])


def downgrade() -> None:
    op.drop_index('ix_audit_actor', table_name='audit_event')
    op.drop_index('ix_instance_started_by', table_name='process_instance')
    with op.batch_alter_table('process_instance') as table:
        table.drop_constraint('fk_instance_started_by', type_='foreignkey')
        table.drop_column('started_by')
