"""archive tables

Revision ID: 0004_archive
Revises: 0003_library
Create Date: 2026-11-25

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "0004_archive"
down_revision = "0003_library"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
