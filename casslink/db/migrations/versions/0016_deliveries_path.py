"""deliveries.path gains an index: re-rendering an invoice chunk replaces its rows by path,
which scanned the whole table (0.7 s per chunk with a 1M-AWB period's 851,348 rows)

Revision ID: 0016_deliveries_path
Revises: 0015_dispute_instruments
"""

from alembic import op


revision = '0016_deliveries_path'
down_revision = '0015_dispute_instruments'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_deliveries_path', 'deliveries', ['path'])


def downgrade() -> None:
    op.drop_index('ix_deliveries_path', table_name='deliveries')
