"""payments: the payment ledger (postings, hinge movements), remittances, bank statements and
their entries, irregularities, agent status events (casslink.payments)

Revision ID: 0010_payments
Revises: 0007 (the revision id of 0007_ingest_attempts.py)
"""

from alembic import op
import sqlalchemy as sa


revision = '0010_payments'
down_revision = '0009_access'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('pay_agent_events',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('operation_code', sa.String(length=2), nullable=False),
    sa.Column('agent_code', sa.String(length=11), nullable=False),
    sa.Column('action', sa.String(length=20), nullable=False),
    sa.Column('from_status', sa.String(length=12), nullable=False),
    sa.Column('to_status', sa.String(length=12), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pay_agent_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pay_agent_events_agent_code'), ['agent_code'], unique=False)

    op.create_table('pay_irregularities',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('operation_code', sa.String(length=2), nullable=False),
    sa.Column('agent_code', sa.String(length=11), nullable=False),
    sa.Column('period_id', sa.String(length=10), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('raised_on', sa.Date(), nullable=False),
    sa.Column('cure_by', sa.Date(), nullable=False),
    sa.Column('cured_on', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('pay_irregularities', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pay_irregularities_agent_code'), ['agent_code'], unique=False)

    op.create_table('pay_movements',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('operation_code', sa.String(length=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('pay_movements', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pay_movements_operation_code'), ['operation_code'], unique=False)

    op.create_table('pay_postings',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('operation_code', sa.String(length=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('period_id', sa.String(length=10), nullable=True),
    sa.Column('debit_account', sa.String(length=40), nullable=False),
    sa.Column('credit_account', sa.String(length=40), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('reverses_id', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('posted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reverses_id'], ['pay_postings.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key')
    )
    with op.batch_alter_table('pay_postings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pay_postings_credit_account'), ['credit_account'], unique=False)
        batch_op.create_index(batch_op.f('ix_pay_postings_debit_account'), ['debit_account'], unique=False)
        batch_op.create_index(batch_op.f('ix_pay_postings_operation_code'), ['operation_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_pay_postings_period_id'), ['period_id'], unique=False)

    op.create_table('pay_remittances',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('operation_code', sa.String(length=2), nullable=False),
    sa.Column('period_id', sa.String(length=10), nullable=False),
    sa.Column('agent_code', sa.String(length=11), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('due', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=35), nullable=False),
    sa.Column('option', sa.String(length=12), nullable=False),
    sa.Column('debit_date', sa.Date(), nullable=True),
    sa.Column('remittance_date', sa.Date(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('operation_code', 'period_id', 'agent_code'),
    sa.UniqueConstraint('reference')
    )
    with op.batch_alter_table('pay_remittances', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pay_remittances_agent_code'), ['agent_code'], unique=False)

    op.create_table('pay_statements',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('statement_id', sa.String(length=80), nullable=False),
    sa.Column('message', sa.String(length=20), nullable=False),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('statement_id')
    )
    op.create_table('pay_entries',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('statement_id', sa.String(length=80), nullable=False),
    sa.Column('seq', sa.Integer(), nullable=False),
    sa.Column('operation_code', sa.String(length=2), nullable=False),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('direction', sa.String(length=4), nullable=False),
    sa.Column('value_date', sa.Date(), nullable=False),
    sa.Column('reference', sa.String(length=140), nullable=False),
    sa.Column('info', sa.Text(), nullable=False),
    sa.Column('remittance_id', sa.Integer(), nullable=True),
    sa.Column('classification', sa.String(length=10), nullable=False),
    sa.Column('matched_by', sa.String(length=12), nullable=False),
    sa.ForeignKeyConstraint(['remittance_id'], ['pay_remittances.id'], ),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('statement_id', 'seq')
    )
    with op.batch_alter_table('pay_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_pay_entries_statement_id'), ['statement_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('pay_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pay_entries_statement_id'))

    op.drop_table('pay_entries')
    op.drop_table('pay_statements')
    with op.batch_alter_table('pay_remittances', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pay_remittances_agent_code'))

    op.drop_table('pay_remittances')
    with op.batch_alter_table('pay_postings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pay_postings_period_id'))
        batch_op.drop_index(batch_op.f('ix_pay_postings_operation_code'))
        batch_op.drop_index(batch_op.f('ix_pay_postings_debit_account'))
        batch_op.drop_index(batch_op.f('ix_pay_postings_credit_account'))

    op.drop_table('pay_postings')
    with op.batch_alter_table('pay_movements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pay_movements_operation_code'))

    op.drop_table('pay_movements')
    with op.batch_alter_table('pay_irregularities', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pay_irregularities_agent_code'))

    op.drop_table('pay_irregularities')
    with op.batch_alter_table('pay_agent_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_pay_agent_events_agent_code'))

    op.drop_table('pay_agent_events')
