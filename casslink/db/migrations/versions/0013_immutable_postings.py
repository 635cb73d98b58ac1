"""immutable postings: database triggers refuse UPDATE/DELETE of payment postings and
movements and of dispute events; issued invoices change only by a cancellation, number
series only count up (casslink.db.immutable)

Revision ID: 0013_immutable_postings
Revises: 0012_disputes
"""

from alembic import op

from casslink.db import immutable

revision = '0013_immutable_postings'
down_revision = '0012_disputes'
branch_labels = None
depends_on = None


def upgrade() -> None:
    immutable.install(op.get_bind())


def downgrade() -> None:
    immutable.uninstall(op.get_bind())
