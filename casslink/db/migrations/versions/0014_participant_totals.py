"""participant_totals: each participant's per-period, per-currency sums of period_totals,
kept at ingest so the portal's period and consolidated views read a few rows per
participant; filled here from the existing period_totals. An agent's period_totals index
gains the operation (as an airline's has), so that a lookup by agent, operation and period
never scans the whole period by primary key

Revision ID: 0014_participant_totals
Revises: 0013_immutable_postings
"""

from alembic import op
import sqlalchemy as sa


revision = '0014_participant_totals'
down_revision = '0013_immutable_postings'
branch_labels = None
depends_on = None

SUMMED = ('records', 'weight_pp', 'valuation_pp', 'oc_carrier_pp', 'oc_agent_cc',
          'commission', 'discount', 'tax_airline', 'tax_agent', 'net')


def upgrade() -> None:
    op.create_table(
        'participant_totals',
        sa.Column('side', sa.String(length=7), nullable=False),
        sa.Column('code', sa.String(length=11), nullable=False),
        sa.Column('operation_code', sa.String(length=2), nullable=False),
        sa.Column('period_id', sa.String(length=10), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        *[sa.Column(c, sa.BigInteger(), nullable=False, server_default='0') for c in SUMMED],
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('side', 'code', 'operation_code', 'period_id', 'currency'),
    )
    op.drop_index('ix_period_totals_agent', table_name='period_totals')
    op.create_index('ix_period_totals_agent', 'period_totals',
                    ['agent_code', 'operation_code', 'period_id'])
    # the sums of the pairs ingested before this table
    sums = ', '.join(f'SUM({c})' for c in SUMMED)
    for side, col in (('airline', 'airline_prefix'), ('agent', 'agent_code')):
        op.execute(
            f"INSERT INTO participant_totals (side, code, operation_code, period_id, currency, "
            f"{', '.join(SUMMED)}, updated_at) "
            f"SELECT '{side}', {col}, operation_code, period_id, currency, {sums}, "
            f"MAX(updated_at) FROM period_totals "
            f"GROUP BY {col}, operation_code, period_id, currency")


def downgrade() -> None:
    op.drop_table('participant_totals')
    op.drop_index('ix_period_totals_agent', table_name='period_totals')
    op.create_index('ix_period_totals_agent', 'period_totals', ['agent_code', 'period_id'])
