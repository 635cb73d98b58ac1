"""deliveries and per-participant output formats

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'deliveries',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('participant_code', sa.String(length=11), nullable=False),
        sa.Column('kind', sa.String(length=20), nullable=False),
        sa.Column('path', sa.Text(), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('delivered_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['run_id'], ['settlement_runs.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_deliveries_run_id', 'deliveries', ['run_id'])
    op.create_index('ix_deliveries_participant_code', 'deliveries', ['participant_code'])
    with op.batch_alter_table('participants') as batch_op:
        batch_op.add_column(sa.Column('output_formats', sa.String(length=100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('participants') as batch_op:
        batch_op.drop_column('output_formats')
    op.drop_index('ix_deliveries_participant_code', table_name='deliveries')
    op.drop_index('ix_deliveries_run_id', table_name='deliveries')
    op.drop_table('deliveries')
