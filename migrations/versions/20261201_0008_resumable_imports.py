"""archive imports keep their progress and a lease

Revision ID: 0008_resumable_imports
Revises: 0007_rate_windows
Create Date: 2026-12-01

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0008_resumable_imports"
down_revision = "0007_rate_windows"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("archive_import", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("resume_after_line", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("lease_until", sa.DateTime(timezone=True), nullable=True))


def downgrade():
    with op.batch_alter_table("archive_import", schema=None) as batch_op:
        batch_op.drop_column("lease_until")
        batch_op.drop_column("resume_after_line")
