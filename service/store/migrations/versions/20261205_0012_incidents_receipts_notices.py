"""step incidents, one receipt sequence, when a filing's notice ends (issue 11: 1, 9)

- `incident`: a step that failed on a user's submit (a service task raising, an expression
  failing), kept for the city and the analysts until marked resolved.
- Receipt numbers (CZBA<year><serial>) come from one counter per year in `setting`; the counters
  start after the numbers already issued, which were taken from filing or institution ids.
- `filing.notice_closes_at`, from the filing's notices, so a closed notice is not shown as 公示中.

Revision ID: 0012
Revises: 0010
Create Date: 2026-12-05 10:00:00
"""
import re

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0010'
branch_labels = None
depends_on = None

RECEIPT = re.compile(r"^CZBA(\d{4})(\d+)$")


def upgrade() -> None:
    op.create_table(
        'incident',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('instance_id', sa.Integer(), nullable=False),
        sa.Column('task_id', sa.Integer(), nullable=True),
        sa.Column('step_name', sa.String(length=50), nullable=False),
        sa.Column('step_title', sa.String(length=100), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('error', sa.Text(), nullable=False),
        sa.Column('resolved_at', sa.DateTime(), nullable=True),
        sa.Column('resolved_by', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['instance_id'], ['process_instance.id']),
        sa.ForeignKeyConstraint(['task_id'], ['human_task.id']),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id']),
        sa.ForeignKeyConstraint(['resolved_by'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_incident_instance_id', 'incident', ['instance_id'])
    with op.batch_alter_table('filing') as batch:
        batch.add_column(sa.Column('notice_closes_at', sa.DateTime(), nullable=True))
    op.execute("UPDATE filing SET notice_closes_at = (SELECT max(notice.closes_at) FROM notice "
               "WHERE notice.filing_id = filing.id)")

    bind = op.get_bind()
    last: dict[str, int] = {}
    for (number,) in bind.execute(sa.text("SELECT receipt_number FROM filing WHERE receipt_number IS NOT NULL")):
        found = RECEIPT.match(number)
        if found:
            last[found[1]] = max(last.get(found[1], 0), int(found[2]))
    setting = sa.table('setting', sa.column('key', sa.String), sa.column('value', sa.String))
    for year, serial in sorted(last.items()):
        bind.execute(sa.delete(setting).where(setting.c.key == f"receipt_serial_{year}"))
        bind.execute(sa.insert(setting).values(key=f"receipt_serial_{year}", value=str(serial)))


def downgrade() -> None:
    op.execute("DELETE FROM setting WHERE key LIKE 'receipt_serial_%'")
    with op.batch_alter_table('filing') as batch:
        batch.drop_column('notice_closes_at')
    op.drop_index('ix_incident_instance_id', table_name='incident')
    op.drop_table('incident')
