"""file registry outcome columns

Revision ID: 0002
Revises: 0001
"""

from alembic import op
import sqlalchemy as sa


revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('family', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('operation_code', sa.String(length=2), nullable=True))
        batch_op.add_column(sa.Column('period_id', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('billed_period_id', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('late', sa.Boolean(), nullable=True))
        batch_op.add_column(sa.Column('file_number', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('record_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('accepted_count', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('ack_name', sa.String(length=300), nullable=True))
        batch_op.add_column(sa.Column('processed_at', sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_column('processed_at')
        batch_op.drop_column('ack_name')
        batch_op.drop_column('accepted_count')
        batch_op.drop_column('record_count')
        batch_op.drop_column('file_number')
        batch_op.drop_column('late')
        batch_op.drop_column('billed_period_id')
        batch_op.drop_column('period_id')
        batch_op.drop_column('operation_code')
        batch_op.drop_column('family')
