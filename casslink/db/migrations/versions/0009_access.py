"""access: companies, grants with rights, API tokens, an append-only audit log, a user's and
a participant's language, a participant's contact email; period totals (the portal's
real-time view of what each period has accepted so far)

Revision ID: 0009_access
Revises: 0007

Existing users are migrated: one company per participant that has users, and one grant of
that participant per user (every right for an admin and for the first user of a participant,
every right but ``admin`` for the others), so every existing login keeps working.
"""

from alembic import op
import sqlalchemy as sa


revision = '0009_access'
down_revision = '0008_tax_rules'
branch_labels = None
depends_on = None

ALL = "view,upload,dispute,finance,admin"
NO_ADMIN = "view,upload,dispute,finance"
COMPANY_KIND = {"airline": "airline", "gssa": "airline", "agent": "agent",
                "operator": "operator"}


def upgrade() -> None:
    op.create_table(
        'companies',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('name', sa.String(length=200), nullable=False),
        sa.Column('kind', sa.String(length=10), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id'),
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.add_column(sa.Column('company_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('language', sa.String(length=10), nullable=True))
        batch_op.create_foreign_key('fk_users_company_id', 'companies', ['company_id'], ['id'])
        batch_op.create_index('ix_users_company_id', ['company_id'])
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=10), nullable=True))
        batch_op.add_column(sa.Column('contact_email', sa.String(length=254), nullable=True))
    op.create_table(
        'grants',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('participant_id', sa.Integer(), nullable=False),
        sa.Column('rights', sa.String(length=60), nullable=False),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.ForeignKeyConstraint(['participant_id'], ['participants.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('user_id', 'participant_id', name='uq_grants_user_participant'),
    )
    op.create_index('ix_grants_participant_id', 'grants', ['participant_id'])
    op.create_table(
        'api_tokens',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('user_id', sa.Integer(), nullable=False),
        sa.Column('name', sa.String(length=100), nullable=False),
        sa.Column('token_sha256', sa.String(length=64), nullable=False),
        sa.Column('scopes', sa.String(length=60), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('last_used_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['user_id'], ['users.id']),
        sa.PrimaryKeyConstraint('id'),
        sa.UniqueConstraint('token_sha256', name='uq_api_tokens_token_sha256'),
    )
    op.create_index('ix_api_tokens_user_id', 'api_tokens', ['user_id'])
    op.create_table(
        'audit_log',
        sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
        sa.Column('at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('actor_login', sa.String(length=64), nullable=False),
        sa.Column('company_id', sa.Integer(), nullable=True),
        sa.Column('action', sa.String(length=60), nullable=False),
        sa.Column('target', sa.String(length=200), nullable=False),
        sa.Column('detail', sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint('id'),
    )
    op.create_index('ix_audit_log_company_id', 'audit_log', ['company_id'])

    # what each (airline, agent) pair has accepted so far per period: updated in the ingest
    # commit, read by the portal's real-time period view (never the Parquet parts)
    money = [sa.Column(c, sa.BigInteger(), nullable=False, server_default='0') for c in (
        'weight_pp', 'valuation_pp', 'oc_carrier_pp', 'oc_agent_cc', 'commission',
        'discount', 'tax_airline', 'tax_agent', 'net')]
    op.create_table(
        'period_totals',
        sa.Column('operation_code', sa.String(length=2), nullable=False),
        sa.Column('period_id', sa.String(length=10), nullable=False),
        sa.Column('airline_prefix', sa.String(length=3), nullable=False),
        sa.Column('agent_code', sa.String(length=11), nullable=False),
        sa.Column('currency', sa.String(length=3), nullable=False),
        sa.Column('files', sa.Integer(), nullable=False, server_default='0'),
        sa.Column('records', sa.BigInteger(), nullable=False, server_default='0'),
        *money,
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('operation_code', 'period_id', 'airline_prefix', 'agent_code',
                                'currency'),
    )
    op.create_index('ix_period_totals_agent', 'period_totals', ['agent_code', 'period_id'])
    op.create_index('ix_period_totals_airline', 'period_totals',
                    ['airline_prefix', 'operation_code', 'period_id'])

    # existing users: a company per participant, a grant per user
    bind = op.get_bind()
    users = sa.table('users', sa.column('id', sa.Integer()), sa.column('role', sa.String()),
                     sa.column('participant_id', sa.Integer()),
                     sa.column('company_id', sa.Integer()))
    parts = sa.table('participants', sa.column('id', sa.Integer()),
                     sa.column('name', sa.String()), sa.column('kind', sa.String()))
    companies = sa.table('companies', sa.column('id', sa.Integer()),
                         sa.column('name', sa.String()), sa.column('kind', sa.String()))
    grants = sa.table('grants', sa.column('user_id', sa.Integer()),
                      sa.column('participant_id', sa.Integer()),
                      sa.column('rights', sa.String()))
    rows = bind.execute(sa.select(users.c.id, users.c.role, users.c.participant_id)
                        .order_by(users.c.id)).all()
    company_of: dict[int, int] = {}
    for user_id, role, pid in rows:
        first = pid not in company_of
        if first:
            name, kind = bind.execute(sa.select(parts.c.name, parts.c.kind)
                                      .where(parts.c.id == pid)).one()
            company_of[pid] = bind.execute(companies.insert().values(
                name=name, kind=COMPANY_KIND.get(kind, "agent"))
                .returning(companies.c.id)).scalar_one()
        bind.execute(users.update().where(users.c.id == user_id)
                     .values(company_id=company_of[pid]))
        bind.execute(grants.insert().values(
            user_id=user_id, participant_id=pid,
            rights=ALL if role == "admin" or first else NO_ADMIN))


def downgrade() -> None:
    op.drop_index('ix_period_totals_airline', table_name='period_totals')
    op.drop_index('ix_period_totals_agent', table_name='period_totals')
    op.drop_table('period_totals')
    op.drop_index('ix_audit_log_company_id', table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_index('ix_api_tokens_user_id', table_name='api_tokens')
    op.drop_table('api_tokens')
    op.drop_index('ix_grants_participant_id', table_name='grants')
    op.drop_table('grants')
    with op.batch_alter_table('participants', schema=None) as batch_op:
        batch_op.drop_column('contact_email')
        batch_op.drop_column('language')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index('ix_users_company_id')
        batch_op.drop_constraint('fk_users_company_id', type_='foreignkey')
        batch_op.drop_column('language')
        batch_op.drop_column('company_id')
    op.drop_table('companies')
