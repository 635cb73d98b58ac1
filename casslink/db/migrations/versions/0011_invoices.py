"""invoices: gap-free number series and the issued legal documents (issue 26)

Revision ID: 0011_invoices
Revises: 0007 (the lead re-chains at merge)
"""

import sqlalchemy as sa
from alembic import op

revision = '0011_invoices'
down_revision = '0010_payments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'invoice_series',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('issuer', sa.String(length=11), nullable=False),
        sa.Column('operation_code', sa.String(length=2), nullable=False),
        sa.Column('year', sa.Integer(), nullable=False),
        sa.Column('series', sa.String(length=4), nullable=False),
        sa.Column('last_number', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('issuer', 'operation_code', 'year', 'series'),
    )
    op.create_table(
        'invoices',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('number', sa.String(length=40), nullable=False),
        sa.Column('series_id', sa.Integer(), nullable=False),
        sa.Column('seq', sa.Integer(), nullable=False),
        sa.Column('doc_type', sa.String(length=12), nullable=False),
        sa.Column('type_code', sa.String(length=3), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('operation_code', sa.String(length=2), nullable=False),
        sa.Column('period_id', sa.String(length=10), nullable=False),
        sa.Column('run_id', sa.Integer(), nullable=False),
        sa.Column('bill_key', sa.String(length=40), nullable=False),
        sa.Column('agent_code', sa.String(length=11), nullable=False),
        sa.Column('airline_prefix', sa.String(length=3), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('line_total', sa.BigInteger(), nullable=False),
        sa.Column('tax_total', sa.BigInteger(), nullable=False),
        sa.Column('payable', sa.BigInteger(), nullable=False),
        sa.Column('language', sa.String(length=8), nullable=False),
        sa.Column('issue_date', sa.Date(), nullable=False),
        sa.Column('content_digest', sa.String(length=64), nullable=False),
        sa.Column('content', sa.Text(), nullable=False),
        sa.Column('cancels', sa.String(length=40), nullable=True),
        sa.Column('cancelled_by', sa.String(length=40), nullable=True),
        sa.Column('issued_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['series_id'], ['invoice_series.id']),
        sa.ForeignKeyConstraint(['run_id'], ['settlement_runs.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('number'),
        sa.UniqueConstraint('series_id', 'seq'),
    )
    for col in ('series_id', 'operation_code', 'period_id', 'bill_key'):
        op.create_index(f'ix_invoices_{col}', 'invoices', [col])


def downgrade() -> None:
    for col in ('series_id', 'operation_code', 'period_id', 'bill_key'):
        op.drop_index(f'ix_invoices_{col}', table_name='invoices')
    op.drop_table('invoices')
    op.drop_table('invoice_series')
