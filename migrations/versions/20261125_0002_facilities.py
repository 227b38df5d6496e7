"""facilities tables

Revision ID: 0002_facilities
Revises: 0001_core
Create Date: 2026-11-25

"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

# revision identifiers, used by Alembic.
revision = "0002_facilities"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade():
    pass


def downgrade():
    pass
