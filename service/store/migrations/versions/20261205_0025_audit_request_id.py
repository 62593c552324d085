"""the web request that wrote an audit entry (its X-Request-ID), to find its log lines

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-05 21:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0025'
down_revision = '0024'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event') as table:
        table.add_column(sa.Column('request_id', sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_event') as table:
        table.drop_column('request_id')
