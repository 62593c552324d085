"""batches (Art. 15): the assessor registry, certification batches, their candidates and the
certificates they issue; an institution's last certification day (Art. 22.2)

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-05 12:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('institution') as table:
        table.add_column(sa.Column('last_certified_on', sa.Date(), nullable=True))
    op.create_table(
        'assessor',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('id_number', sa.String(length=18), nullable=False),
        sa.Column('certificate_number', sa.String(length=50), nullable=False),
        sa.Column('occupation_code', sa.String(length=12), nullable=False),
        sa.Column('level', sa.String(length=10), nullable=False),
        sa.Column('valid_until', sa.Date(), nullable=False),
        sa.Column('dishonest', sa.Boolean(), nullable=False),
        sa.Column('updated_at', sa.DateTime(), nullable=False),
        sa.ForeignKeyConstraint(['occupation_code'], ['occupation.code']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('id_number', 'occupation_code', 'level'),
    )
    op.create_index('ix_assessor_id_number', 'assessor', ['id_number'])
    op.create_table(
        'batch',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('jurisdiction_code', sa.String(length=12), nullable=False),
        sa.Column('status', sa.String(length=20), nullable=False),
        sa.Column('title', sa.String(length=200), nullable=False),
        sa.Column('place', sa.String(length=300), nullable=False),
        sa.Column('first_exam_day', sa.Date(), nullable=True),
        sa.Column('last_exam_day', sa.Date(), nullable=True),
        sa.Column('plan', sa.JSON(), nullable=False),
        sa.Column('route', sa.String(length=20), nullable=True),
        sa.Column('candidate_count', sa.Integer(), nullable=False),
        sa.Column('opinion', sa.Text(), nullable=True),
        sa.Column('created_at', sa.DateTime(), nullable=False),
        sa.Column('submitted_at', sa.DateTime(), nullable=True),
        sa.Column('planned_at', sa.DateTime(), nullable=True),
        sa.Column('notice_closes_at', sa.DateTime(), nullable=True),
        sa.Column('results_due_on', sa.Date(), nullable=True),
        sa.Column('results_filed_at', sa.DateTime(), nullable=True),
        sa.Column('results_late', sa.Boolean(), nullable=False),
        sa.Column('certified_on', sa.Date(), nullable=True),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['jurisdiction_code'], ['jurisdiction.code']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_batch_institution_id', 'batch', ['institution_id'])
    op.create_index('ix_batch_jurisdiction_code', 'batch', ['jurisdiction_code'])
    op.create_index('ix_batch_status', 'batch', ['status'])
    op.create_table(
        'candidate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('row', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('id_number', sa.String(length=18), nullable=False),
        sa.Column('phone', sa.String(length=30), nullable=False),
        sa.Column('occupation_code', sa.String(length=12), nullable=False),
        sa.Column('level', sa.String(length=10), nullable=False),
        sa.Column('basis', sa.String(length=20), nullable=False),
        sa.Column('category', sa.String(length=20), nullable=True),
        sa.Column('commissioned_by', sa.String(length=200), nullable=True),
        sa.Column('scores', sa.JSON(), nullable=True),
        sa.Column('passed', sa.Boolean(), nullable=True),
        sa.ForeignKeyConstraint(['batch_id'], ['batch.id']),
        sa.ForeignKeyConstraint(['occupation_code'], ['occupation.code']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('batch_id', 'id_number', 'occupation_code', 'level'),
    )
    op.create_index('ix_candidate_batch_id', 'candidate', ['batch_id'])
    op.create_index('ix_candidate_name', 'candidate', ['name'])
    op.create_index('ix_candidate_id_number', 'candidate', ['id_number'])
    op.create_table(
        'certificate',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('number', sa.String(length=22), nullable=False),
        sa.Column('batch_id', sa.Integer(), nullable=False),
        sa.Column('institution_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=50), nullable=False),
        sa.Column('id_number', sa.String(length=18), nullable=False),
        sa.Column('occupation_code', sa.String(length=12), nullable=False),
        sa.Column('level', sa.String(length=10), nullable=False),
        sa.Column('issued_on', sa.Date(), nullable=False),
        sa.ForeignKeyConstraint(['batch_id'], ['batch.id']),
        sa.ForeignKeyConstraint(['institution_id'], ['institution.id']),
        sa.ForeignKeyConstraint(['occupation_code'], ['occupation.code']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number'),
    )
    op.create_index('ix_certificate_batch_id', 'certificate', ['batch_id'])
    op.create_index('ix_certificate_institution_id', 'certificate', ['institution_id'])
    op.create_index('ix_certificate_person', 'certificate', ['id_number', 'occupation_code', 'level'])


def downgrade() -> None:
    for table in ('certificate', 'candidate', 'batch', 'assessor'):
        op.drop_table(table)
    with op.batch_alter_table('institution') as table:
        table.drop_column('last_certified_on')
