"""archive media processing keeps its progress and a lease

Revision ID: 0009_leased_media
Revises: 0008_resumable_imports
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0009_leased_media"
down_revision = "0008_resumable_imports"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("archive_media", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("derivatives_done", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"))
    # Processing used to keep nothing until it ended: pages found on an item still processing
    # are an earlier run's, not progress of this one, so that item starts over.
    media = sa.table("archive_media", sa.column("status", sa.String), sa.column("ocr_pages"))
    op.execute(media.update().where(media.c.status == "processing").values(ocr_pages=sa.null()))


def downgrade():
    with op.batch_alter_table("archive_media", schema=None) as batch_op:
        batch_op.drop_column("attempts")
        batch_op.drop_column("lease_until")
        batch_op.drop_column("derivatives_done")
