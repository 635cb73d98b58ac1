"""dispute instruments: a dispute bills a CCA or a DCM (its reason and kind say which), and
casslink's number series per airline is per instrument

Revision ID: 0015_dispute_instruments
Revises: 0014_participant_totals
"""

from alembic import op
import sqlalchemy as sa


revision = '0015_dispute_instruments'
down_revision = '0014_participant_totals'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('disputes', sa.Column('instrument', sa.String(length=3), nullable=False,
                                        server_default='DCM'))
    _rebuild_series(per_instrument=True)


def downgrade() -> None:
    _rebuild_series(per_instrument=False)
    op.drop_column('disputes', 'instrument')


def _rebuild_series(per_instrument: bool) -> None:
    """dcm_series keyed by airline (and instrument), copied: SQLite cannot alter a primary
    key. The existing series are DCM series; going down keeps only those."""
    cols = [sa.Column('airline_prefix', sa.String(length=3), nullable=False),
            sa.Column('last_number', sa.Integer(), nullable=False)]
    key = ['airline_prefix']
    if per_instrument:
        cols.append(sa.Column('instrument', sa.String(length=3), nullable=False,
                              server_default='DCM'))
        key.append('instrument')
    op.create_table('dcm_series_new', *cols, sa.PrimaryKeyConstraint(*key))
    where = '' if per_instrument else " WHERE instrument = 'DCM'"
    op.execute('INSERT INTO dcm_series_new (airline_prefix, last_number) '
               f'SELECT airline_prefix, last_number FROM dcm_series{where}')
    op.drop_table('dcm_series')
    op.rename_table('dcm_series_new', 'dcm_series')
    if op.get_bind().dialect.name == 'postgresql':
        op.execute('ALTER TABLE dcm_series RENAME CONSTRAINT dcm_series_new_pkey '
                   'TO dcm_series_pkey')
