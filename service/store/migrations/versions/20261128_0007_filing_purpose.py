"""filing purpose (initial | renewal) and the application as submitted

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 07:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('filing', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purpose', sa.String(length=10), nullable=False, server_default='initial'))
        batch_op.add_column(sa.Column('application', sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('filing', schema=None) as batch_op:
        batch_op.drop_column('application')
        batch_op.drop_column('purpose')
