"""ingest attempts: a file's pinned period, its attempts and the warehouse part its outcome
committed

Revision ID: 0007
Revises: 0006
"""

from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.add_column(sa.Column('pinned_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('attempts', sa.Integer(), nullable=False, server_default='0'))
        batch_op.add_column(sa.Column('part_name', sa.String(length=80), nullable=True))
    # Files accepted before this revision: their part is the first attempt's
    # (file-NNNNNN.parquet), committed with their outcome - settlement reads it by this name.
    files = sa.table('files', sa.column('id', sa.Integer()), sa.column('state', sa.String()),
                     sa.column('channel', sa.String()), sa.column('billed_period_id', sa.String()),
                     sa.column('part_name', sa.String()),
                     sa.column('pinned_at', sa.DateTime(timezone=True)),
                     sa.column('processed_at', sa.DateTime(timezone=True)))
    bind = op.get_bind()
    accepted = bind.execute(sa.select(files.c.id, files.c.processed_at).where(
        files.c.state == 'archived', files.c.channel != 'sandbox',
        files.c.billed_period_id.is_not(None))).all()
    for file_id, processed_at in accepted:
        bind.execute(files.update().where(files.c.id == file_id).values(
            part_name=f"file-{file_id:06d}.parquet", pinned_at=processed_at))


def downgrade() -> None:
    with op.batch_alter_table('files', schema=None) as batch_op:
        batch_op.drop_column('part_name')
        batch_op.drop_column('attempts')
        batch_op.drop_column('pinned_at')
