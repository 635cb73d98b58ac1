"""calendar rules; the source and note of each billing period

Revision ID: 0006
Revises: 0005
"""

import sqlalchemy as sa
from alembic import op

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'calendar_rules',
        sa.Column('operation_code', sa.String(length=2), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('frequency', sa.String(length=20), nullable=False),
        sa.Column('cutoff_days', sa.Integer(), nullable=False),
        sa.Column('billing_days', sa.Integer(), nullable=False),
        sa.Column('remittance_days', sa.Integer(), nullable=False),
        sa.Column('weekend', sa.String(length=30), nullable=False),
        sa.Column('holidays', sa.String(length=10), nullable=False),
        sa.Column('holiday_subdivision', sa.String(length=10), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['operation_code'], ['operations.code']),
        sa.PrimaryKeyConstraint('operation_code', 'valid_from'),
    )
    with op.batch_alter_table('billing_periods') as batch_op:
        batch_op.add_column(sa.Column('source', sa.String(length=10), nullable=False,
                                      server_default='published'))
        batch_op.add_column(sa.Column('note', sa.Text(), nullable=True))
        batch_op.add_column(sa.Column('corrected_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('billing_periods') as batch_op:
        batch_op.drop_column('corrected_at')
        batch_op.drop_column('note')
        batch_op.drop_column('source')
    op.drop_table('calendar_rules')
