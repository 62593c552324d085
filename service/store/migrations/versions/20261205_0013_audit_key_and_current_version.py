"""keyed audit chain (the hash's version per row) and the current definition version

audit_event.hash_version: 1 for every row written before this migration (plain SHA-256 over
the fields it covered then, task_title not among them), 2 for rows written after (HMAC-SHA256
with AUDIT_KEY over every field the record prints). Verification checks each row the way it
was written and says how many old rows it could check only the old way (usecases/audit.py).

definition_version.activation: deploying files makes their version current, a redeploy of an
earlier version included (a rollback); the highest activation is current, ties (and every row
before this migration, at 0) by the newest id, which is what was current before.

ix_audit_chain (instance_id, id): the global chain's newest event is read on every append to it,
which now includes every case's first event (its anchor).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 10:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.add_column(sa.Column('hash_version', sa.Integer(), nullable=False, server_default='1'))
        batch_op.create_index('ix_audit_chain', ['instance_id', 'id'], unique=False)
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.add_column(sa.Column('activation', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('activated_at', sa.DateTime(), nullable=True))
        batch_op.add_column(sa.Column('activated_by', sa.String(length=50), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('definition_version', schema=None) as batch_op:
        batch_op.drop_column('activated_by')
        batch_op.drop_column('activated_at')
        batch_op.drop_column('activation')
    with op.batch_alter_table('audit_event', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_chain')
        batch_op.drop_column('hash_version')
