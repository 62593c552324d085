"""user sessions (revocable logins) and login failures (throttling)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-05 09:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'user_session',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('last_seen_at', sa.DateTime(), nullable=False),
        sa.Column('revoked_at', sa.DateTime(), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['user_account.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_hash'),
    )
    op.create_index('ix_user_session_user_id', 'user_session', ['user_id'])
    op.create_table(
        'login_failure',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(), nullable=False),
        sa.Column('username', sa.String(length=50), nullable=False),
        sa.Column('address', sa.String(length=45), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_login_failure_username', 'login_failure', ['username', 'at'])
    op.create_index('ix_login_failure_address', 'login_failure', ['address', 'at'])


def downgrade() -> None:
    op.drop_index('ix_login_failure_address', table_name='login_failure')
    op.drop_index('ix_login_failure_username', table_name='login_failure')
    op.drop_table('login_failure')
    op.drop_index('ix_user_session_user_id', table_name='user_session')
    op.drop_table('user_session')
