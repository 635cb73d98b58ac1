"""tax rules: effective-dated, versioned rule sets per operation

Revision ID: 0008_tax_rules
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = '0008_tax_rules'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'tax_rules',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('operation_code', sa.String(length=2), nullable=False),
        sa.Column('version', sa.Integer(), nullable=False),
        sa.Column('code', sa.String(length=12), nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('side', sa.String(length=10), nullable=False),
        sa.Column('base', sa.String(length=300), nullable=False),
        sa.Column('rate_bp', sa.Integer(), nullable=False),
        sa.Column('applies_to', sa.String(length=15), nullable=False),
        sa.Column('valid_from', sa.Date(), nullable=False),
        sa.Column('valid_to', sa.Date(), nullable=True),
        sa.Column('rounding', sa.String(length=5), nullable=False),
        sa.Column('mode', sa.String(length=8), nullable=False),
        sa.Column('source', sa.Text(), nullable=False),
        sa.Column('source_line', sa.Integer(), nullable=True),
        sa.Column('loaded_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('tax_rules') as batch_op:
        batch_op.create_index(batch_op.f('ix_tax_rules_operation_code'), ['operation_code'],
                              unique=False)


def downgrade() -> None:
    with op.batch_alter_table('tax_rules') as batch_op:
        batch_op.drop_index(batch_op.f('ix_tax_rules_operation_code'))
    op.drop_table('tax_rules')
