"""disputes: online corrections and disputes, their append-only history, attachments, the
airlines' DCM number series and the files that adjust them

Revision ID: 0012_disputes
Revises: 0009_access
"""

from alembic import op
import sqlalchemy as sa


revision = '0012_disputes'
down_revision = '0011_invoices'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'disputes',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('operation_code', sa.String(length=2), nullable=False),
        sa.Column('period_id', sa.String(length=10), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('agent_code', sa.String(length=11), nullable=False),
        sa.Column('airline_prefix', sa.String(length=3), nullable=False),
        sa.Column('awb_serial', sa.String(length=8), nullable=False),
        sa.Column('correction_number', sa.String(length=6), nullable=True),
        sa.Column('reason_code', sa.String(length=20), nullable=False),
        sa.Column('claims', sa.Text(), nullable=False),
        sa.Column('remove_awb', sa.Boolean(), nullable=False),
        sa.Column('claimed_minor', sa.BigInteger(), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('text', sa.Text(), nullable=False),
        sa.Column('status', sa.String(length=16), nullable=False),
        sa.Column('raised_by', sa.String(length=64), nullable=False),
        sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('raised_on', sa.Date(), nullable=False),
        sa.Column('response_due', sa.Date(), nullable=False),
        sa.Column('accepted_minor', sa.BigInteger(), nullable=True),
        sa.Column('decision_text', sa.Text(), nullable=True),
        sa.Column('decided_by', sa.String(length=64), nullable=True),
        sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('dcm_number', sa.String(length=6), nullable=True),
        sa.Column('adjust_period_id', sa.String(length=10), nullable=True),
        sa.Column('file_id', sa.Integer(), nullable=True),
        sa.Column('adjusted_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('source', sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(['file_id'], ['files.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('file_id'),
        sa.UniqueConstraint('source'),
    )
    for col in ('operation_code', 'period_id', 'agent_code', 'airline_prefix', 'status'):
        op.create_index(f'ix_disputes_{col}', 'disputes', [col])
    op.create_table(
        'dispute_events',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('dispute_id', sa.Integer(), nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor', sa.String(length=64), nullable=False),
        sa.Column('action', sa.String(length=30), nullable=False),
        sa.Column('from_status', sa.String(length=16), nullable=True),
        sa.Column('to_status', sa.String(length=16), nullable=True),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_dispute_events_dispute_id', 'dispute_events', ['dispute_id'])
    op.create_table(
        'dispute_attachments',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('dispute_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=255), nullable=False),
        sa.Column('media_type', sa.String(length=40), nullable=False),
        sa.Column('sha256', sa.String(length=64), nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('added_by', sa.String(length=64), nullable=False),
        sa.Column('added_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id']),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_dispute_attachments_dispute_id', 'dispute_attachments', ['dispute_id'])
    op.create_table(
        'dcm_series',
        sa.Column('airline_prefix', sa.String(length=3), nullable=False),
        sa.Column('last_number', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('airline_prefix'),
    )
    op.create_table(
        'dispute_files',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('dispute_id', sa.Integer(), nullable=False),
        sa.Column('file_id', sa.Integer(), nullable=False),
        sa.Column('role', sa.String(length=10), nullable=False),
        sa.Column('correction_number', sa.String(length=6), nullable=True),
        sa.ForeignKeyConstraint(['dispute_id'], ['disputes.id']),
        sa.ForeignKeyConstraint(['file_id'], ['files.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('dispute_id', 'file_id'),
    )
    op.create_index('ix_dispute_files_dispute_id', 'dispute_files', ['dispute_id'])
    op.create_index('ix_dispute_files_file_id', 'dispute_files', ['file_id'])


def downgrade() -> None:
    op.drop_table('dispute_files')
    op.drop_table('dcm_series')
    op.drop_table('dispute_attachments')
    op.drop_table('dispute_events')
    op.drop_table('disputes')
