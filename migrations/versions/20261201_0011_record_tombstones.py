"""tombstones of deleted records, and the (datestamp, id) order OAI-PMH lists records in

Revision ID: 0011_record_tombstones
Revises: 0010_notification_choices
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0011_record_tombstones"
down_revision = "0010_notification_choices"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "archive_record_tombstone",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("identifier", sa.String(length=64), nullable=False),
        sa.Column("datestamp", sa.DateTime(timezone=True), nullable=False),
        sa.Column("collections", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_archive_record_tombstone")),
        sa.UniqueConstraint("identifier", name=op.f("uq_archive_record_tombstone_identifier")),
    )
    op.create_index(
        "ix_archive_record_tombstone_oai",
        "archive_record_tombstone",
        ["datestamp", "id"],
        unique=False,
    )
    op.create_index("ix_archive_record_oai", "archive_record", ["updated_at", "id"], unique=False)


def downgrade():
    op.drop_index("ix_archive_record_oai", table_name="archive_record")
    op.drop_index("ix_archive_record_tombstone_oai", table_name="archive_record_tombstone")
    op.drop_table("archive_record_tombstone")
