"""login lockouts: failed-login counters per login and per address

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'login_lockouts',
        sa.Column('key', sa.String(length=200), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=True),
        sa.Column('locked_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key'),
    )
    op.create_index('ix_login_lockouts_locked_until', 'login_lockouts', ['locked_until'])


def downgrade() -> None:
    op.drop_index('ix_login_lockouts_locked_until', table_name='login_lockouts')
    op.drop_table('login_lockouts')
