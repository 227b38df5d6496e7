"""notification delivery claims

Revision ID: 0005_notification_claims
Revises: 0004_archive
Create Date: 2026-11-25

"""

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = "0005_notification_claims"
down_revision = "0004_archive"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("core_notification", schema=None) as batch_op:
        batch_op.add_column(sa.Column("claimed_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("claim_token", sa.String(length=32), nullable=True))


def downgrade():
    with op.batch_alter_table("core_notification", schema=None) as batch_op:
        batch_op.drop_column("claim_token")
        batch_op.drop_column("claimed_until")
