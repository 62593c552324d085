"""occupation.is_skill: only skill-type occupations may be filed (Art. 4)

Set here from the major group (3-6 are skill-type, 1, 2, 7 and 8 are not); loading the reference
data (service/reference.py) then applies the analysts' per-code corrections.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('occupation', schema=None) as batch_op:
        batch_op.add_column(sa.Column('is_skill', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.execute("UPDATE occupation SET is_skill = (substr(code, 1, 1) IN ('3', '4', '5', '6'))")


def downgrade() -> None:
    with op.batch_alter_table('occupation', schema=None) as batch_op:
        batch_op.drop_column('is_skill')
