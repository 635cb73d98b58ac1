"""settlement runs

Revision ID: 0003
Revises: 0002
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'settlement_runs',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('operation_code', sa.String(length=2), nullable=False),
        sa.Column('period_id', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('inputs_digest', sa.String(length=64), nullable=False),
        sa.Column('status', sa.String(length=12), nullable=False),
        sa.Column('message', sa.Text(), nullable=False),
        sa.Column('ledger_dir', sa.Text(), nullable=False),
        sa.Column('records', sa.Integer(), nullable=False),
        sa.Column('total_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_settlement_runs_operation_code', 'settlement_runs', ['operation_code'])
    op.create_index('ix_settlement_runs_period_id', 'settlement_runs', ['period_id'])


def downgrade() -> None:
    op.drop_index('ix_settlement_runs_period_id', table_name='settlement_runs')
    op.drop_index('ix_settlement_runs_operation_code', table_name='settlement_runs')
    op.drop_table('settlement_runs')
