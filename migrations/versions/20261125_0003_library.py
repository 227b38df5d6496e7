"""library tables

Revision ID: 0003_library
Revises: 0002_facilities
Create Date: 2026-11-25

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "0003_library"
down_revision = "0002_facilities"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
